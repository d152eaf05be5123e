//! Errors in files users write (catalogues, scenarios): `file:line:col: what is wrong`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A mistake at a place in a file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SourceError {
    pub file: PathBuf,
    pub line: u64,
    pub col: u64,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file.display(), self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

/// A file's bytes as text; a byte that is not UTF-8 is an error at its line and column.
pub fn utf8(bytes: Vec<u8>, file: &Path) -> Result<String, SourceError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bad = e.as_bytes().get(at).copied().unwrap_or(0);
        let valid = &e.as_bytes()[..at];
        let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let col = (at - valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)) as u64 + 1;
        SourceError {
            file: file.to_path_buf(),
            line,
            col,
            message: format!(
                "byte 0x{bad:02X} here is not valid UTF-8 (was the file saved as Latin-1?); \
                 save it as UTF-8"
            ),
        }
    })
}

/// An error at 1:1 when `src` holds nothing but blank lines, comments and `---`; `needs` says
/// what the file must hold.
pub fn not_empty(src: &str, file: &Path, needs: &str) -> Result<(), SourceError> {
    let meaningful = src
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && l.trim() != "---");
    if meaningful {
        return Ok(());
    }
    Err(SourceError {
        file: file.to_path_buf(),
        line: 1,
        col: 1,
        message: format!("the file is empty: {needs}"),
    })
}

impl SourceError {
    pub fn at(file: &Path, loc: serde_saphyr::Location, message: impl Into<String>) -> Self {
        SourceError {
            file: file.to_path_buf(),
            line: loc.line().max(1),
            col: loc.column().max(1),
            message: message.into(),
        }
    }

    /// An error from the YAML reader, located where it says.
    /// `src` is the file's text: a value of the wrong type is named by its key.
    pub fn from_yaml(file: &Path, err: &serde_saphyr::Error, src: &str) -> Self {
        let (line, col) = err
            .location()
            .map(|l| (l.line().max(1), l.column().max(1)))
            .unwrap_or((1, 1));
        let mut message = yaml_message(err);
        if let Some(what) = message
            .strip_prefix("expected ")
            .and_then(|m| m.strip_suffix(" here"))
            && let Some((key, value)) = key_and_value(src, line, col)
        {
            message = format!("`{key}` must be {what} (found `{value}`)");
        }
        SourceError {
            file: file.to_path_buf(),
            line,
            col,
            message,
        }
    }
}

/// The key of the `key: value` pair whose value starts at (line, col), and that value.
fn key_and_value(src: &str, line: u64, col: u64) -> Option<(String, String)> {
    let text = src
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let at = text
        .char_indices()
        .nth(usize::try_from(col).ok()?.checked_sub(1)?)?
        .0;
    let before = text[..at].trim_end().strip_suffix(':')?;
    let key = before
        .rsplit(['{', ',', '-', ' '])
        .find(|k| !k.is_empty())?
        .trim();
    let value = text[at..].split([',', '}', '#']).next()?.trim().to_string();
    (!key.is_empty() && !value.is_empty()).then(|| (key.to_string(), value))
}

/// The YAML reader's message without its own location suffix and snippet.
fn yaml_message(err: &serde_saphyr::Error) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    // serde-saphyr appends " at line L, column C"; the location is already in front.
    let first = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    let numeric = ["u8", "u16", "u32", "u64", "i32", "i64", "usize", "f64"];
    if let Some(ty) = first.strip_prefix("invalid ")
        && numeric.contains(&ty.trim())
    {
        let what = if ty.starts_with('f') {
            "a number"
        } else {
            "a whole number"
        };
        return format!("expected {what} here");
    }
    if let Some(rest) = first.strip_prefix("unknown variant ")
        && let Some((value, allowed)) = rest.split_once(", expected one of ")
    {
        return format!("unknown value {value}; write one of {allowed}");
    }
    if let Some(rest) = first.strip_prefix("unknown variant ")
        && let Some((value, allowed)) = rest.split_once(", expected ")
    {
        return format!("unknown value {value}; write {allowed}");
    }
    if let Some(rest) = first.strip_prefix("budget breached: ") {
        return too_big(rest);
    }
    match first {
        "expected mapping start" => {
            return "expected a map here: `key: value` lines (or `{ key: value }`), not a list \
                    or a single value"
                .into();
        }
        "expected sequence start" => {
            return "expected a list here: `- item` lines (or `[a, b]`)".into();
        }
        _ => {}
    }
    match first.strip_prefix("duplicate mapping key: ") {
        Some(rest) => {
            let key = rest.split(',').next().unwrap_or(rest).trim();
            format!("duplicate key `{key}`: each key may appear once in a map")
        }
        None => first.to_string(),
    }
}

/// What a breached YAML limit (serde-saphyr's `BudgetBreach`, as `Kind { n: … }`) means.
fn too_big(breach: &str) -> String {
    // The rest (where the alias was used and defined) is not worth the reader's time.
    let breach = match breach.find('}') {
        Some(end) => &breach[..=end],
        None => breach,
    };
    let kind = breach.split([' ', '{']).next().unwrap_or(breach);
    let why = match kind {
        "Depth" => "it is nested too deeply",
        "Aliases" | "AliasAnchorRatio" | "Nodes" | "Events" | "MergeKeys" => {
            "it holds too many values once its aliases (`*name`) and merges (`<<`) are expanded; \
             write repeated parts out, or repeat them less"
        }
        "Documents" => "it holds too many YAML documents (`---`); a scenario is one document",
        _ => "it is too large",
    };
    format!("the file is refused as YAML: {why} (limit: {breach})")
}

impl SourceError {
    /// The same place with another message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

/// ` (did you mean `x`?)` when one of `known` is close to `word`, else nothing.
pub fn did_you_mean(word: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The error as users see it: `file:line:col: message`, then the line itself with the place
/// marked (miette's graphical report, without colour so that logs and snapshots stay plain).
pub fn render(e: &SourceError) -> String {
    let head = e.to_string();
    let Ok(src) = std::fs::read_to_string(&e.file) else {
        return head;
    };
    match snippet(e, &src) {
        Some(s) => format!("{head}\n{s}"),
        None => head,
    }
}

fn snippet(e: &SourceError, src: &str) -> Option<String> {
    use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic};
    if e.line == 0 || src.trim().is_empty() {
        return None;
    }
    let line_start: usize = src
        .split_inclusive('\n')
        .take((e.line - 1) as usize)
        .map(str::len)
        .sum();
    let line = src[line_start..].lines().next().unwrap_or("");
    let col = line
        .char_indices()
        .nth((e.col.max(1) - 1) as usize)
        .map_or(line.len(), |(i, _)| i);
    let rest = &line[col..];
    let mut token = rest
        .find(|c: char| c.is_whitespace() || ",}]".contains(c))
        .unwrap_or(rest.len());
    if rest[..token].ends_with(':') {
        token -= 1;
    }
    let token = token.max(1);
    let diag = MietteDiagnostic::new(e.message.clone()).with_labels(vec![LabeledSpan::at(
        line_start + col..line_start + col + token,
        "here",
    )]);
    let report = miette::Report::new(diag).with_source_code(miette::NamedSource::new(
        e.file.display().to_string(),
        src.to_string(),
    ));
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, report.as_ref())
        .ok()?;
    Some(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            did_you_mean("translat", &["translate", "detect"]),
            " (did you mean `translate`?)"
        );
        assert_eq!(did_you_mean("zzz", &["translate"]), "");
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn undecodable_and_empty_files_are_placed() {
        let f = Path::new("f.yaml");
        let e = utf8(b"name: x\nab\xe9c\n".to_vec(), f).expect_err("not UTF-8");
        assert_eq!((e.line, e.col), (2, 3));
        assert!(e.message.starts_with("byte 0xE9 here"), "{}", e.message);
        assert_eq!(utf8(b"ok".to_vec(), f).as_deref(), Ok("ok"));
        let e = not_empty("# only a comment\n\n---\n", f, "it needs `name`").expect_err("empty");
        assert_eq!(
            e.to_string(),
            "f.yaml:1:1: the file is empty: it needs `name`"
        );
        assert!(not_empty("# c\nname: x\n", f, "").is_ok());
    }

    fn message_of(src: &str) -> String {
        let opts = serde_saphyr::options! { with_snippet: false };
        let err = serde_saphyr::from_str_with_options::<
            std::collections::BTreeMap<String, serde::de::IgnoredAny>,
        >(src, opts)
        .expect_err("not a map");
        SourceError::from_yaml(Path::new("s.yaml"), &err, src).message
    }

    #[test]
    fn yaml_errors_say_what_to_write() {
        assert!(
            message_of("- 1\n- 2\n").starts_with("expected a map here"),
            "{}",
            message_of("- 1\n")
        );
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let m = message_of(&bomb);
        assert!(m.contains("aliases (`*name`)"), "{m}");
        assert!(m.contains("(limit: Nodes {") && m.ends_with("})"), "{m}");
        assert!(too_big("Depth { depth: 99 }").contains("nested too deeply"));
        assert_eq!(
            too_big("Whatever { n: 1 }"),
            "the file is refused as YAML: it is too large (limit: Whatever { n: 1 })"
        );
    }
}
