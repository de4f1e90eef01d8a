//! Numbers as error messages show them.

/// `x` as a person would write it: plain (`-2`, `0.5`), or in scientific
/// notation (`1e308`) when plain would run to dozens of digits.
pub(crate) fn readable(x: f64) -> String {
    let plain = x == 0.0 || !x.is_finite() || (1e-6..1e16).contains(&x.abs());
    match plain {
        true => x.to_string(),
        false => format!("{x:e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn short_for_any_magnitude() {
        assert_eq!(readable(-2.0), "-2");
        assert_eq!(readable(0.5), "0.5");
        assert_eq!(readable(1e308), "1e308");
        assert_eq!(readable(-1e-300), "-1e-300");
        assert_eq!(readable(f64::INFINITY), "inf");
    }
}
