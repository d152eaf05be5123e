//! junit.xml (docs/scenario.md, "Budgets"): one test suite, `budgets`, with one test case per
//! budget named by its text. A failed budget is a `failure` whose message is
//! `measured X, limit < Y` and the reason when there is one, so that a CI's test view says what
//! broke without opening results.json.

use crate::metrics::Summary;
use crate::metrics::figures::{Quality, Verdict};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::io;

/// The file's name in the run folder.
pub const FILE_NAME: &str = "junit.xml";

/// The failure message of a verdict: `measured 183ms, limit < 150ms`, then the reason.
pub fn failure_message(v: &Verdict) -> String {
    let mut m = format!("measured {}, limit {}", v.measured_text, v.limit_text);
    if let Some(r) = &v.reason {
        m.push_str(": ");
        m.push_str(r);
    }
    m
}

/// The JUnit XML of the summary's verdicts (an empty suite when there are none).
pub fn junit_xml(s: &Summary) -> io::Result<String> {
    let mut suite = TestSuite::new("budgets");
    for v in &s.verdicts {
        let status = if v.passed {
            TestCaseStatus::success()
        } else {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(failure_message(v)).set_type("budget");
            st
        };
        let mut case = TestCase::new(v.budget.as_str(), status);
        case.set_classname(format!("gauntlet.{}", s.scenario));
        let out = match v.quality {
            Quality::Exact => format!("measured {} ({})", v.measured_text, v.limit_text),
            Quality::Estimated => {
                format!("measured {} ({}), estimated", v.measured_text, v.limit_text)
            }
            Quality::Unavailable => "unavailable".to_string(),
        };
        case.set_system_out(out);
        suite.add_test_case(case);
    }
    if s.partial {
        suite.set_system_err("partial run: the numbers cover what ran before it was cut short");
    }
    let mut report = Report::new("gauntlet");
    report.add_test_suite(suite);
    report.to_string().map_err(io::Error::other)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `p99(freight.quote@steady) < 150ms`, failed at 183 ms.
    pub(crate) fn failing() -> Verdict {
        Verdict {
            budget: "p99(freight.quote@steady) < 150ms".into(),
            passed: false,
            measured: Some(183.0),
            measured_text: "183ms".into(),
            limit_text: "< 150ms".into(),
            quality: Quality::Exact,
            reason: None,
        }
    }

    #[test]
    fn failures_say_what_was_measured_against_what() {
        let v = failing();
        assert_eq!(failure_message(&v), "measured 183ms, limit < 150ms");
        let unavailable = Verdict {
            measured_text: "unavailable".into(),
            reason: Some("no calls in a.b@steady".into()),
            ..v
        };
        assert_eq!(
            failure_message(&unavailable),
            "measured unavailable, limit < 150ms: no calls in a.b@steady"
        );
    }
}
