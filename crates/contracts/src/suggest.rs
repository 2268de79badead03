//! "Did you mean" suggestions for misspelt names.

/// The closest of `choices` to `name`, when it is close enough to be a likely
/// typo (Jaro-Winkler similarity of at least 0.8, compared case-insensitively).
pub fn did_you_mean<'a, I>(name: &str, choices: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = name.to_lowercase();
    choices
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let choices = ["Pharmacy", "Electronics", "Toys"];
        assert_eq!(did_you_mean("Pharmcy", choices), Some("Pharmacy"));
        assert_eq!(did_you_mean("electronic", choices), Some("Electronics"));
        assert_eq!(did_you_mean("Garden", choices), None);
    }
}
