//! The input history of this kernel process: the code of every stored
//! execution, answered as `tail`, `range` or `search` (glob with `*` and
//! `?`), as `history_reply` wants: `[session, line, input]` triples, where
//! the session is always 1 (this process). With `output: true` the third
//! item is `[input, output]`, the output being the result's `text/plain`
//! or null.

use serde_json::{Value, json};

/// Every stored cell, in order; line numbers are execution counts.
#[derive(Debug, Default)]
pub struct History {
    entries: Vec<(u64, String)>,
    outputs: std::collections::HashMap<u64, String>,
}

impl History {
    /// Records `code` as execution `line`.
    pub fn record(&mut self, line: u64, code: &str) {
        self.entries.push((line, code.to_string()));
    }

    /// Records the `text/plain` result of execution `line`.
    pub fn record_output(&mut self, line: u64, text: &str) {
        self.outputs.insert(line, text.to_string());
    }

    /// The answer to a `history_request` content.
    pub fn answer(&self, request: &Value) -> Vec<Value> {
        let number = |key: &str| request.get(key).and_then(Value::as_i64);
        let entries: Vec<&(u64, String)> =
            match request.get("hist_access_type").and_then(Value::as_str) {
                Some("tail") => self.tail(number("n").unwrap_or(10)),
                Some("range") => self.range(number("start").unwrap_or(0), number("stop")),
                Some("search") => {
                    let pattern = request
                        .get("pattern")
                        .and_then(Value::as_str)
                        .unwrap_or("*");
                    let unique = request
                        .get("unique")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    self.search(pattern, unique, number("n"))
                }
                _ => Vec::new(),
            };
        let with_output = request
            .get("output")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let item = |line: &u64, code: &String| match with_output {
            true => json!([1, line, [code, self.outputs.get(line)]]),
            false => json!([1, line, code]),
        };
        entries
            .into_iter()
            .map(|(line, code)| item(line, code))
            .collect()
    }

    fn tail(&self, n: i64) -> Vec<&(u64, String)> {
        let skip = self.entries.len().saturating_sub(n.max(0) as usize);
        self.entries.iter().skip(skip).collect()
    }

    fn range(&self, start: i64, stop: Option<i64>) -> Vec<&(u64, String)> {
        let stop = stop.unwrap_or(i64::MAX);
        self.entries
            .iter()
            .filter(|(line, _)| (*line as i64) >= start && (*line as i64) < stop)
            .collect()
    }

    fn search(&self, pattern: &str, unique: bool, n: Option<i64>) -> Vec<&(u64, String)> {
        let mut seen = std::collections::HashSet::new();
        let mut found: Vec<&(u64, String)> = self
            .entries
            .iter()
            .rev()
            .filter(|(_, code)| glob_match(pattern, code))
            .filter(|(_, code)| !unique || seen.insert(code.as_str()))
            .collect();
        if let Some(n) = n.filter(|n| *n > 0) {
            found.truncate(n as usize);
        }
        found.reverse();
        found
    }
}

/// Glob matching with `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> History {
        let mut history = History::default();
        for (line, code) in [
            (1, "let a = 1;"),
            (2, "print(a)"),
            (3, "let a = 1;"),
            (4, "a + 1"),
        ] {
            history.record(line, code);
        }
        history
    }

    #[test]
    fn tail_gives_the_last_n() {
        let answer = history().answer(&json!({"hist_access_type": "tail", "n": 2}));
        assert_eq!(
            answer,
            vec![json!([1, 3, "let a = 1;"]), json!([1, 4, "a + 1"])]
        );
    }

    #[test]
    fn output_flag_pairs_inputs_with_results() {
        let mut history = history();
        history.record_output(4, "2");
        let answer = history.answer(&json!({"hist_access_type": "tail", "n": 2, "output": true}));
        assert_eq!(answer[1], json!([1, 4, ["a + 1", "2"]]));
        assert_eq!(answer[0], json!([1, 3, ["let a = 1;", null]]));
    }

    #[test]
    fn range_is_half_open() {
        let answer = history().answer(&json!({"hist_access_type": "range", "start": 2, "stop": 4}));
        assert_eq!(answer.len(), 2);
        assert_eq!(answer[0][1], json!(2));
    }

    #[test]
    fn search_globs_and_dedups() {
        let answer = history()
            .answer(&json!({"hist_access_type": "search", "pattern": "let*", "unique": true}));
        assert_eq!(answer, vec![json!([1, 3, "let a = 1;"])]);
    }

    #[test]
    fn glob_handles_stars_and_question_marks() {
        assert!(glob_match("1?2*", "1x2yz"));
        assert!(!glob_match("1?2*", "12"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
    }
}
