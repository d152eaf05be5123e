//! The significance tests of `gauntlet compare`, pure: the Mann-Whitney U test (normal
//! approximation with tie and continuity corrections) over per-second intervals, and the
//! two-proportion z-test for rates such as the cache hit rate. Both one-sided: "is the new run
//! worse in this direction?".

/// P(X > x) for a standard normal X.
pub fn normal_sf(x: f64) -> f64 {
    0.5 * erfc(x / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error
/// below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// One-sided Mann-Whitney U test: the p-value of "values in `new` tend to be larger than in
/// `base`". `None` when either side is empty; 1.0 when every value ties.
pub fn mann_whitney_greater(base: &[f64], new: &[f64]) -> Option<f64> {
    let (n1, n2) = (new.len(), base.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = new
        .iter()
        .map(|&x| (x, true))
        .chain(base.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let (mut rank_new, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_new += rank * all[i..=j].iter().filter(|v| v.1).count() as f64;
        i = j + 1;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u = rank_new - n1f * (n1f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - ties / (nf * (nf - 1.0)));
    if var <= 0.0 {
        return Some(1.0);
    }
    let z = (u - mean - 0.5) / var.sqrt();
    Some(normal_sf(z))
}

/// One-sided two-proportion z-test: the p-value of "the share `new_hits / new_n` is lower than
/// `base_hits / base_n`". `None` when either count is 0; 1.0 when there is no variance.
pub fn proportion_lower(base_hits: u64, base_n: u64, new_hits: u64, new_n: u64) -> Option<f64> {
    if base_n == 0 || new_n == 0 {
        return None;
    }
    let (b, n) = (base_n as f64, new_n as f64);
    let (p1, p2) = (base_hits as f64 / b, new_hits as f64 / n);
    let pooled = (base_hits + new_hits) as f64 / (b + n);
    let se = (pooled * (1.0 - pooled) * (1.0 / b + 1.0 / n)).sqrt();
    if se <= 0.0 {
        return Some(1.0);
    }
    Some(normal_sf((p1 - p2) / se))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn the_normal_tail_matches_its_table() {
        for (x, p) in [
            (0.0, 0.5),
            (1.0, 0.158_655_25),
            (1.959_964, 0.025),
            (2.326_348, 0.01),
            (3.0, 0.001_349_9),
            (-1.0, 0.841_344_75),
        ] {
            assert!(close(normal_sf(x), p, 1e-6), "{x}: {} vs {p}", normal_sf(x));
        }
    }

    #[test]
    fn mann_whitney_finds_a_shift_and_not_noise() {
        // Computed by hand: new all above base (5 vs 5): U = 25, mean 12.5, var 22.917,
        // z = (25 - 12.5 - 0.5) / 4.787 = 2.5067 → p = 0.00609.
        let base = [1.0, 2.0, 3.0, 4.0, 5.0];
        let new = [6.0, 7.0, 8.0, 9.0, 10.0];
        let p = mann_whitney_greater(&base, &new).expect("both sides have values");
        assert!(close(p, 0.006_093, 1e-5), "{p}");
        // The other way round: no evidence that the new run is larger.
        let p = mann_whitney_greater(&new, &base).expect("values");
        assert!(p > 0.99, "{p}");
        // Interleaved values: nothing to see.
        let p = mann_whitney_greater(&[1.0, 3.0, 5.0, 7.0], &[2.0, 4.0, 6.0, 8.0]).unwrap();
        assert!(p > 0.2, "{p}");
    }

    #[test]
    fn ties_are_corrected_and_all_ties_mean_no_difference() {
        assert_eq!(mann_whitney_greater(&[0.0; 30], &[0.0; 30]), Some(1.0));
        // Mostly zeros with a few ones on the new side (error rates per second): ties shrink
        // the variance, so the test still sees the shift.
        let base = [0.0; 40];
        let mut new = [0.0; 40];
        new[..8].fill(1.0);
        let p = mann_whitney_greater(&base, &new).unwrap();
        assert!(p < 0.01, "{p}");
        assert_eq!(mann_whitney_greater(&[], &[1.0]), None);
    }

    #[test]
    fn a_drop_in_a_proportion_is_significant_only_with_enough_calls() {
        // 60% → 50% over 1,000 calls each: z = 4.5, p ≈ 3.4e-6.
        let p = proportion_lower(600, 1000, 500, 1000).unwrap();
        assert!(p < 1e-5, "{p}");
        // The same shares over 20 calls each: p ≈ 0.26.
        let p = proportion_lower(12, 20, 10, 20).unwrap();
        assert!(p > 0.2, "{p}");
        assert!(proportion_lower(500, 1000, 600, 1000).unwrap() > 0.99);
        assert_eq!(proportion_lower(0, 10, 0, 10), Some(1.0));
        assert_eq!(proportion_lower(1, 0, 1, 10), None);
    }
}
