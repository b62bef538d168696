//! Completion, inspection and the is-complete check of cell code.
//!
//! Cursor positions are Unicode code points, as the protocol says since
//! 5.2 (jupyter-protocol.md §1.8), never bytes or UTF-16 units: code is
//! turned into a `Vec<char>` before any index is taken, so no input can
//! split a character.

use std::any::TypeId;
use std::collections::BTreeSet;

use rhai::Dynamic;

use crate::engine::Session;
use crate::magics;

/// Rhai keywords offered by completion.
const KEYWORDS: &[&str] = &[
    "let",
    "const",
    "fn",
    "if",
    "else",
    "switch",
    "while",
    "loop",
    "for",
    "in",
    "do",
    "until",
    "break",
    "continue",
    "return",
    "throw",
    "try",
    "catch",
    "import",
    "export",
    "as",
    "true",
    "false",
    "print",
    "debug",
    "type_of",
    "is_def_var",
    "is_def_fn",
    "this",
    "global",
];

/// Completion candidates and the code-point range they replace.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Candidate texts, sorted.
    pub matches: Vec<String>,
    /// First replaced code point.
    pub cursor_start: usize,
    /// One past the last replaced code point.
    pub cursor_end: usize,
}

/// What the is-complete check says about some code.
#[derive(Debug, Clone, PartialEq)]
pub enum Completeness {
    /// The code parses.
    Complete,
    /// More lines are expected; the frontend should indent the next one.
    Incomplete {
        /// The indent for the next line.
        indent: String,
    },
    /// The code can never parse.
    Invalid,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// One function known to the engine.
struct FunctionInfo {
    name: String,
    first_param: Option<TypeId>,
    signature: String,
    comments: Vec<String>,
}

fn functions(session: &Session) -> Vec<FunctionInfo> {
    let mut all = session.engine().collect_fn_metadata(
        None,
        |info| {
            let meta = info.metadata;
            Some(FunctionInfo {
                name: meta.name.to_string(),
                first_param: meta.param_types.first().copied(),
                signature: meta.gen_signature(|s| s.into()),
                comments: meta.comments.iter().map(|c| c.to_string()).collect(),
            })
        },
        true,
    );
    for script in session.functions().iter_functions() {
        all.push(FunctionInfo {
            name: script.name.to_string(),
            first_param: None,
            signature: format!("{}({})", script.name, script.params.join(", ")),
            comments: script.comments.iter().map(|c| c.to_string()).collect(),
        });
    }
    all
}

fn is_plain_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(is_ident)
}

/// Completes the word before `cursor` (in code points): variables,
/// functions and keywords; after `value.`, the methods and properties of
/// the value's type, and a map's keys.
pub fn complete(session: &Session, code: &str, cursor: usize) -> Completion {
    let chars: Vec<char> = code.chars().collect();
    let cursor = cursor.min(chars.len());
    let mut start = cursor;
    while start > 0 && is_ident(chars[start - 1]) {
        start -= 1;
    }
    let prefix: String = chars[start..cursor].iter().collect();

    let line_start = chars[..start]
        .iter()
        .rposition(|c| *c == '\n')
        .map_or(0, |i| i + 1);
    let is_magic = start > line_start
        && chars[start - 1] == '%'
        && chars[line_start..start - 1]
            .iter()
            .all(|c| c.is_whitespace());
    let candidates = if is_magic {
        magics::KNOWN_MAGICS
            .iter()
            .map(|(name, _)| name.to_string())
            .collect()
    } else if start > 0 && chars[start - 1] == '.' {
        member_candidates(session, &chars[..start - 1])
    } else {
        global_candidates(session)
    };
    let matches = candidates
        .into_iter()
        .filter(|c| c.starts_with(&prefix))
        .collect();
    Completion {
        matches,
        cursor_start: start,
        cursor_end: cursor,
    }
}

fn global_candidates(session: &Session) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
    names.extend(
        session
            .scope()
            .iter_raw()
            .map(|(name, ..)| name.to_string()),
    );
    names.extend(
        functions(session)
            .into_iter()
            .map(|f| f.name)
            .filter(|n| is_plain_name(n)),
    );
    names
}

fn member_candidates(session: &Session, before_dot: &[char]) -> BTreeSet<String> {
    let mut start = before_dot.len();
    while start > 0 && is_ident(before_dot[start - 1]) {
        start -= 1;
    }
    let receiver: String = before_dot[start..].iter().collect();
    let Some(value) = session.scope().get(&receiver) else {
        return BTreeSet::new();
    };
    members_of(session, value)
}

fn members_of(session: &Session, value: &Dynamic) -> BTreeSet<String> {
    let type_id = value.type_id();
    let mut names = BTreeSet::new();
    for function in functions(session) {
        if function.first_param != Some(type_id) {
            continue;
        }
        if let Some(property) = function.name.strip_prefix("get$") {
            names.insert(property.to_string());
        } else if is_plain_name(&function.name) {
            names.insert(function.name);
        }
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        names.extend(
            map.keys()
                .map(|k| k.to_string())
                .filter(|k| is_plain_name(k)),
        );
    }
    names
}

/// The word around `cursor` (in code points), and the variable before a
/// `.` that precedes it, if any (`text.len` gives `len` and `text`).
fn word_at(code: &str, cursor: usize) -> (String, Option<String>) {
    let chars: Vec<char> = code.chars().collect();
    let cursor = cursor.min(chars.len());
    let mut start = cursor;
    while start > 0 && is_ident(chars[start - 1]) {
        start -= 1;
    }
    let mut end = cursor;
    while end < chars.len() && is_ident(chars[end]) {
        end += 1;
    }
    let word = chars[start..end].iter().collect();
    if start == 0 || chars[start - 1] != '.' {
        return (word, None);
    }
    let mut receiver_start = start - 1;
    while receiver_start > 0 && is_ident(chars[receiver_start - 1]) {
        receiver_start -= 1;
    }
    let receiver: String = chars[receiver_start..start - 1].iter().collect();
    (word, (!receiver.is_empty()).then_some(receiver))
}

/// The description of the variable, function or method at `cursor`: a
/// variable's type and value; a function's signatures and documentation,
/// only those for the receiver's type after `value.`.
pub fn inspect(session: &Session, code: &str, cursor: usize) -> Option<String> {
    let (word, receiver) = word_at(code, cursor);
    if word.is_empty() {
        return None;
    }
    let receiver_type = receiver.and_then(|r| session.scope().get(&r).map(Dynamic::type_id));
    if receiver_type.is_none()
        && let Some(value) = session.scope().get(&word)
    {
        let shown = session
            .bundle(value)
            .map(|b| b.plain().to_string())
            .unwrap_or_default();
        return Some(format!("{word}: {}\n{shown}", value.type_name()));
    }

    let mut text = String::new();
    let named = |f: &FunctionInfo| f.name == word || f.name == format!("get${word}");
    let on_receiver = |f: &FunctionInfo| receiver_type.is_none() || f.first_param == receiver_type;
    for function in functions(session)
        .into_iter()
        .filter(|f| named(f) && on_receiver(f))
    {
        text.push_str(&function.signature);
        text.push('\n');
        for comment in &function.comments {
            let comment = comment
                .trim_start_matches("///")
                .trim_start_matches("/**")
                .trim_end_matches("*/");
            text.push_str(&format!("    {}\n", comment.trim()));
        }
    }
    (!text.is_empty()).then_some(text)
}

/// Whether `code` is complete, incomplete (unclosed block, bracket,
/// string or comment, or an expression cut short) or invalid.
pub fn is_complete(session: &Session, code: &str) -> Completeness {
    let (_, code) = magics::split_magics(code);
    let code = code.trim_end();
    if code.is_empty() {
        return Completeness::Complete;
    }
    let scan = scan_brackets(code);
    if let Scan::Open {
        depth,
        in_literal: true,
    } = scan
    {
        return Completeness::Incomplete {
            indent: "    ".repeat(depth),
        };
    }
    let Err(error) = session.engine().compile(code) else {
        return Completeness::Complete;
    };
    match scan {
        Scan::Unbalanced => Completeness::Invalid,
        Scan::Open { depth, .. } if depth > 0 || at_end(code, error.1) => {
            Completeness::Incomplete {
                indent: "    ".repeat(depth),
            }
        }
        _ => Completeness::Invalid,
    }
}

/// True when a parse error sits just past the last character: the parser
/// ran out of input (`if x`, `let y = 1 +`, `switch v`), so more lines can
/// still make the code parse.
fn at_end(code: &str, position: rhai::Position) -> bool {
    let lines: Vec<&str> = code.split('\n').collect();
    let last_column = lines.last().map_or(0, |l| l.chars().count());
    match (position.line(), position.position()) {
        (Some(line), Some(column)) => line == lines.len() && column > last_column,
        _ => true,
    }
}

#[derive(Debug, PartialEq)]
enum Scan {
    Open { depth: usize, in_literal: bool },
    Unbalanced,
}

/// Counts open brackets outside strings and comments.
fn scan_brackets(code: &str) -> Scan {
    let chars: Vec<char> = code.chars().collect();
    let mut stack = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => match skip_block_comment(&chars, i) {
                Some(end) => i = end,
                None => {
                    return Scan::Open {
                        depth: stack.len(),
                        in_literal: true,
                    };
                }
            },
            '"' | '`' | '\'' => match skip_string(&chars, i, c) {
                Some(end) => i = end,
                None => {
                    return Scan::Open {
                        depth: stack.len(),
                        in_literal: true,
                    };
                }
            },
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let expected = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(expected) {
                    return Scan::Unbalanced;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Scan::Open {
        depth: stack.len(),
        in_literal: false,
    }
}

/// Index of the closing quote, or `None` when the string is open.
fn skip_string(chars: &[char], start: usize, quote: char) -> Option<usize> {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote != '`' => i += 1,
            '\n' if quote == '"' && chars.get(i.wrapping_sub(1)) != Some(&'\\') => return None,
            c if c == quote => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index of the final `/` of a (nested) block comment, or `None`.
fn skip_block_comment(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 1;
            }
            ('*', '/') => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{CellContext, SessionConfig, StdinBridge};
    use crate::output::Output;

    fn session() -> Session {
        let (iopub, _) = tokio::sync::mpsc::channel(16);
        let (requests, _) = tokio::sync::mpsc::unbounded_channel();
        let (_, replies) = std::sync::mpsc::channel();
        let stdin = StdinBridge {
            requests,
            replies: std::sync::Mutex::new(replies),
        };
        let context = CellContext::new(Output::new(iopub, "s"), SessionConfig::default(), stdin);
        Session::new(context, crate::toolkit::default_toolkits())
    }

    #[test]
    fn completes_variables_and_functions_by_prefix() {
        let mut session = session();
        session.run("let sleepy = 1;").unwrap();
        let completion = complete(&session, "slee", 4);
        assert_eq!(completion.matches, vec!["sleep", "sleep_ms", "sleepy"]);
        assert_eq!((completion.cursor_start, completion.cursor_end), (0, 4));
    }

    #[test]
    fn cursor_counts_code_points_after_astral_and_korean_text() {
        let mut session = session();
        session.run("let wert = 1;").unwrap();
        let code = "let s = \"한국어 𝐚 e\u{301} 👩‍👩‍👧\"; wer";
        let cursor = code.chars().count();
        let completion = complete(&session, code, cursor);
        assert_eq!(completion.matches, vec!["wert"]);
        assert_eq!(completion.cursor_start, cursor - 3);
    }

    #[test]
    fn magic_names_complete_at_line_start() {
        let completion = complete(&session(), "let a = 1;\n%erp5_u", 18);
        assert_eq!(completion.matches, vec!["erp5_url", "erp5_user"]);
        assert_eq!(completion.cursor_start, 12);
    }

    #[test]
    fn cursor_past_the_end_is_clamped() {
        let completion = complete(&session(), "𝐚", 99);
        assert_eq!(completion.cursor_end, 1);
    }

    #[test]
    fn completes_methods_of_a_values_type_and_map_keys() {
        let mut session = session();
        session
            .run("let text = \"abc\"; let m = #{alpha: 1, beta: 2}; let v = ramp(3);")
            .unwrap();
        assert!(
            complete(&session, "text.to_up", 10)
                .matches
                .contains(&"to_upper".to_string())
        );
        assert_eq!(complete(&session, "m.al", 4).matches, vec!["alpha"]);
        let vector = complete(&session, "v.", 2).matches;
        assert!(
            vector.contains(&"len".to_string()) && vector.contains(&"to_array".to_string()),
            "{vector:?}"
        );
    }

    #[test]
    fn inspects_functions_with_their_docs_and_variables_with_their_type() {
        let mut session = session();
        session
            .run("/// Doubles.\nfn twice(x) { 2 * x }\nlet n = 3;")
            .unwrap();
        let native = inspect(&session, "sleep_ms(1)", 3).unwrap();
        assert!(
            native.contains("sleep_ms(ms: i64)") && native.contains("interrupt"),
            "{native}"
        );
        assert!(inspect(&session, "twice", 5).unwrap().contains("Doubles."));
        assert!(inspect(&session, "n", 1).unwrap().starts_with("n: i64"));
        assert_eq!(inspect(&session, "nothing_here", 3), None);
        session.run("let v = ramp(3);").unwrap();
        let method = inspect(&session, "v.to_array()", 4).unwrap();
        assert!(method.contains("to_array(vector: &mut Vector)"), "{method}");
        assert_eq!(
            method.lines().filter(|l| l.starts_with("to_array")).count(),
            1,
            "{method}"
        );
    }

    #[test]
    fn open_blocks_and_strings_are_incomplete_with_indent() {
        let session = session();
        let incomplete = |code: &str| match is_complete(&session, code) {
            Completeness::Incomplete { indent } => indent,
            other => panic!("{code:?}: {other:?}"),
        };
        assert_eq!(incomplete("fn f() {"), "    ");
        assert_eq!(incomplete("if x {\n  let y = [1,"), "        ");
        assert_eq!(incomplete("let s = `multi"), "");
        assert_eq!(incomplete("/* open"), "");
        assert_eq!(incomplete("let a = 1;\nif a"), "");
        assert_eq!(incomplete("while true\n"), "");
        assert_eq!(incomplete("let y = 1 +"), "");
    }

    #[test]
    fn complete_and_invalid_code_are_told_apart() {
        let session = session();
        assert_eq!(is_complete(&session, "let x = 1;"), Completeness::Complete);
        assert_eq!(
            is_complete(&session, "%erp5_url http://x"),
            Completeness::Complete
        );
        assert_eq!(is_complete(&session, "let x = 1; }"), Completeness::Invalid);
        assert_eq!(is_complete(&session, "let 5 = 3;"), Completeness::Invalid);
        assert_eq!(is_complete(&session, "1 +* 2"), Completeness::Invalid);
        assert_eq!(is_complete(&session, "(1 + 2]"), Completeness::Invalid);
    }
}
