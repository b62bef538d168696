//! The command line a newcomer meets: defaults, environment variables, the
//! printed URL, the refusal to expose the default password, and one log
//! line per request at debug level.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use support::{basic, port_of, raw_request};

fn server_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wendelin-server"));
    for name in [
        "WENDELIN_LISTEN",
        "WENDELIN_DATA_DIR",
        "WENDELIN_USER",
        "WENDELIN_PASSWORD",
        "XDG_DATA_HOME",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn first_line(child: &mut std::process::Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}

#[test]
fn default_password_refuses_to_listen_beyond_loopback() {
    let output = server_command()
        .args(["--listen", "0.0.0.0:0", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("0.0.0.0:0") && stderr.contains("password"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn data_folder_defaults_to_xdg_data_home() {
    let home = tempfile::tempdir().unwrap();
    let mut child = server_command()
        .env("WENDELIN_LISTEN", "127.0.0.1:0")
        .env("XDG_DATA_HOME", home.path())
        .spawn()
        .unwrap();

    let line = first_line(&mut child);
    child.kill().unwrap();
    child.wait().unwrap();

    let expected = home.path().join("wendelin-server");
    assert!(
        line.contains(&format!("(data in {})", expected.display())),
        "{line}"
    );
    assert!(expected.join("catalog.sqlite").exists());
}

#[test]
fn data_folder_falls_back_to_local_share() {
    let home = tempfile::tempdir().unwrap();
    let mut child = server_command()
        .env("WENDELIN_LISTEN", "127.0.0.1:0")
        .env("HOME", home.path())
        .spawn()
        .unwrap();

    let line = first_line(&mut child);
    child.kill().unwrap();
    child.wait().unwrap();

    let expected = home.path().join(".local/share/wendelin-server");
    assert!(line.contains(&expected.display().to_string()), "{line}");
}

#[test]
fn environment_sets_credentials_and_folder() {
    let data = tempfile::tempdir().unwrap();
    let mut child = server_command()
        .env("WENDELIN_LISTEN", "127.0.0.1:0")
        .env("WENDELIN_DATA_DIR", data.path())
        .env("WENDELIN_USER", "bob")
        .env("WENDELIN_PASSWORD", "pw-from-env")
        .spawn()
        .unwrap();

    let line = first_line(&mut child);
    let port = port_of(&line);
    let bob = raw_request(
        port,
        "GET",
        "/erp5",
        &[("Authorization", &basic("bob", "pw-from-env"))],
        b"",
    )
    .unwrap();
    let zope = raw_request(
        port,
        "GET",
        "/erp5",
        &[("Authorization", &basic("zope", "insecure"))],
        b"",
    )
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(
        line.starts_with("wendelin-server listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains(&data.path().display().to_string()), "{line}");
    assert_eq!(bob.status, 200);
    assert_eq!(zope.status, 401);
}

#[test]
fn help_names_the_defaults_and_variables() {
    let output = server_command().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);

    for expected in [
        "127.0.0.1:8080",
        "WENDELIN_LISTEN",
        "WENDELIN_DATA_DIR",
        "WENDELIN_USER",
        "WENDELIN_PASSWORD",
        "zope",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}

#[test]
fn debug_level_logs_one_line_per_request_on_stderr() {
    let data = tempfile::tempdir().unwrap();
    let mut child = server_command()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("RUST_LOG", "wendelin_server=debug")
        .env("NO_COLOR", "1")
        .spawn()
        .unwrap();

    let port = port_of(&first_line(&mut child));
    let auth = basic("zope", "insecure");
    raw_request(port, "GET", "/erp5", &[("Authorization", &auth)], b"").unwrap();
    raw_request(
        port,
        "GET",
        "/erp5/data_stream_module/42",
        &[("Authorization", &auth)],
        b"",
    )
    .unwrap();
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();

    let request_lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(" request "))
        .collect();
    assert_eq!(request_lines.len(), 2, "{stderr}");
    assert!(
        request_lines[1].contains("/erp5/data_stream_module/42")
            && request_lines[1].contains("404"),
        "{stderr}"
    );
}

#[test]
fn second_server_on_the_same_folder_refuses_to_start() {
    let data = tempfile::tempdir().unwrap();
    let first = support::Server::start(data.path());

    let second = server_command()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(stderr.contains("another wendelin-server"), "{stderr}");
    assert_eq!(first.get("/erp5").status, 200);
}
