//! Cell lines starting with `%`: the ERP5 kernel's magics, kept for the
//! Wendelin work. The kernel stores each value in the session
//! configuration and says so (never echoing the password); talking to
//! the server is left to a toolkit through [`crate::toolkit::Toolkit::magic`].

use crate::context::CellContext;
use crate::toolkit::Toolkit;

/// The magics this kernel knows, with what each one does.
pub const KNOWN_MAGICS: &[(&str, &str)] = &[
    (
        "erp5_url",
        "the Wendelin/ERP5 base URL, e.g. http://127.0.0.1:8080/erp5",
    ),
    ("erp5_user", "the user name for the server"),
    ("erp5_password", "the password for the server (never shown)"),
    (
        "notebook_set_reference",
        "record executed cells in the Data Notebook with this reference",
    ),
    ("notebook_set_title", "the title of that Data Notebook"),
    ("my_notebooks", "list your Data Notebooks on the server"),
];

/// Why a magic line failed; becomes the cell's error.
#[derive(Debug, Clone, PartialEq)]
pub struct MagicFailure {
    /// `UnknownMagic` or `MagicError`.
    pub ename: &'static str,
    /// The message for the user.
    pub evalue: String,
    /// 1-based line of the magic in the cell.
    pub line: usize,
}

/// Splits a cell into its magic lines (with line numbers) and the code,
/// where each magic line is left empty so positions keep their lines.
pub fn split_magics(code: &str) -> (Vec<(usize, String)>, String) {
    let mut magics = Vec::new();
    let mut rest = Vec::new();
    for (index, line) in code.split('\n').enumerate() {
        match line.trim_start().strip_prefix('%') {
            Some(magic) => {
                magics.push((index + 1, magic.trim_end().to_string()));
                rest.push("");
            }
            None => rest.push(line),
        }
    }
    (magics, rest.join("\n"))
}

/// The cell with the argument of `%erp5_password` replaced by stars, for
/// everything the kernel echoes (`execute_input`, history).
pub fn redact(code: &str) -> String {
    if !code.contains("erp5_password") {
        return code.to_string();
    }
    let lines: Vec<String> = code
        .split('\n')
        .map(|line| {
            let trimmed = line.trim_start();
            match trimmed.strip_prefix("%erp5_password") {
                Some(rest) if !rest.trim().is_empty() => {
                    let indent = &line[..line.len() - trimmed.len()];
                    format!("{indent}%erp5_password ********")
                }
                _ => line.to_string(),
            }
        })
        .collect();
    lines.join("\n")
}

/// Runs one magic line (without its `%`).
///
/// # Errors
/// [`MagicFailure`] for an unknown magic (listing the known ones) or a
/// toolkit's refusal.
pub fn run_magic(
    line: usize,
    text: &str,
    context: &CellContext,
    toolkits: &[Box<dyn Toolkit>],
) -> Result<(), MagicFailure> {
    let (name, argument) = match text.split_once(char::is_whitespace) {
        Some((name, argument)) => (name, argument.trim()),
        None => (text, ""),
    };
    if !KNOWN_MAGICS.iter().any(|(known, _)| *known == name) {
        return Err(MagicFailure {
            ename: "UnknownMagic",
            evalue: unknown_message(name),
            line,
        });
    }

    let mut message = store(name, argument, context);
    for toolkit in toolkits {
        match toolkit.magic(name, argument, context) {
            Some(Ok(text)) => message = text,
            Some(Err(evalue)) => {
                return Err(MagicFailure {
                    ename: "MagicError",
                    evalue,
                    line,
                });
            }
            None => continue,
        }
        break;
    }
    context.print(&format!("{message}\n"));
    Ok(())
}

fn unknown_message(name: &str) -> String {
    let known: Vec<String> = KNOWN_MAGICS.iter().map(|(n, _)| format!("%{n}")).collect();
    format!("unknown magic %{name}; known magics: {}", known.join(", "))
}

/// Stores the value and returns what to tell the user.
fn store(name: &str, argument: &str, context: &CellContext) -> String {
    let config = context.config();
    if name == "my_notebooks" {
        // the Wendelin toolkit answers this magic through `Toolkit::magic`;
        // this is what a kernel without it says
        return "%my_notebooks needs the Wendelin toolkit, which this kernel does not load yet"
            .to_string();
    }
    if argument.is_empty() {
        return match (name, config.get(name)) {
            ("erp5_password", Some(_)) => "erp5_password is set (not shown)".to_string(),
            (_, Some(value)) => format!("{name} = {value}"),
            (_, None) => format!("{name} is not set; give a value: %{name} VALUE"),
        };
    }
    config.set(name, argument);
    match name {
        "erp5_password" => {
            "erp5_password stored in the session configuration (not shown)".to_string()
        }
        _ => format!("{name} = {argument} (stored in the session configuration)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_lines_are_blanked_so_lines_keep_their_numbers() {
        let (magics, code) = split_magics("%erp5_url http://x\nlet a = 1;\n  %erp5_user bob");
        assert_eq!(
            magics,
            vec![
                (1, "erp5_url http://x".to_string()),
                (3, "erp5_user bob".to_string())
            ]
        );
        assert_eq!(code, "\nlet a = 1;\n");
    }

    #[test]
    fn password_is_redacted_from_echoes() {
        let code = "%erp5_user bob\n  %erp5_password hunter2\nlet x = 1;";
        assert_eq!(
            redact(code),
            "%erp5_user bob\n  %erp5_password ********\nlet x = 1;"
        );
    }

    #[test]
    fn modulo_operator_is_not_a_magic() {
        let (magics, _) = split_magics("let r = 7 % 3;");
        assert!(magics.is_empty());
    }

    #[test]
    fn unknown_magic_lists_the_known_ones() {
        let message = unknown_message("timeit");
        assert!(message.contains("%timeit"));
        assert!(message.contains("%erp5_url") && message.contains("%my_notebooks"));
    }
}
