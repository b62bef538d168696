//! Documents in general, Data Arrays, Images and Data Notebooks over HTTP
//! against the real binary (`docs/http-contract.md`; wendelin-protocol.md
//! §4, §5, §8). Oracles: the bytes and fields the test sent, numpy's own
//! byte layout rules (little-endian C order), and `nbformat`'s validator.

mod support;

use serde_json::json;
use support::{Server, pattern};

fn f64_rows(rows: &[[f64; 2]]) -> Vec<u8> {
    rows.iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect()
}

#[test]
fn ids_are_assigned_in_sequence_per_module() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let first = server.create("data_stream_module", json!({"reference": "a"}));
    let second = server.create("data_stream_module", json!({"reference": "b"}));
    let image = server.create("image_module", json!({"reference": "c"}));

    assert_eq!(
        (first.as_str(), second.as_str(), image.as_str()),
        ("1", "2", "1")
    );
}

#[test]
fn new_content_answers_201_with_locations_and_takes_forms() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let response = server.post_form(
        "/erp5/data_stream_module/newContent",
        "portal_type=Data+Stream&reference=pydata&title=PyData+Paris&content_type=audio%2Fwav",
    );

    assert_eq!(response.status, 201, "{}", response.text());
    assert!(
        response
            .header("location")
            .unwrap()
            .ends_with("/erp5/data_stream_module/1")
    );
    assert_eq!(
        response.header("x-location"),
        Some("urn:jio:get:data_stream_module/1")
    );
    let dict = response.json();
    assert_eq!(dict["title"], "PyData Paris");
    assert_eq!(dict["content_type"], "audio/wav");
}

#[test]
fn property_dict_holds_every_property() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create(
        "data_stream_module",
        json!({"reference": "p1", "title": "T"}),
    );
    server.append(&format!("/erp5/data_stream_module/{id}"), 0, b"abcdef");

    let by_method = server
        .get(&format!("/erp5/data_stream_module/{id}/getPropertyDict"))
        .json();
    let by_format = server
        .get(&format!("/erp5/data_stream_module/{id}?format=json"))
        .json();

    assert_eq!(by_method, by_format);
    assert_eq!(by_method["id"], "1");
    assert_eq!(by_method["relative_url"], "data_stream_module/1");
    assert_eq!(by_method["portal_type"], "Data Stream");
    assert_eq!(by_method["reference"], "p1");
    assert_eq!(by_method["title"], "T");
    assert_eq!(by_method["content_type"], "application/octet-stream");
    assert_eq!(by_method["size"], 6);
}

#[test]
fn zope_getters_answer_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create(
        "data_stream_module",
        json!({"reference": "p1", "title": "T"}),
    );
    let path = format!("/erp5/data_stream_module/{id}");
    server.append(&path, 0, b"abc");

    let expected = [
        ("getSize", "3"),
        ("getReference", "p1"),
        ("getTitle", "T"),
        ("getPortalType", "Data Stream"),
        ("getContentType", "application/octet-stream"),
        ("getId", "1"),
    ];
    for (getter, value) in expected {
        let response = server.get(&format!("{path}/{getter}"));
        assert_eq!(response.status, 200);
        assert!(
            response
                .header("content-type")
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(response.text(), value, "{getter}");
    }
}

#[test]
fn portal_and_module_list_documents_with_counts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.create("data_stream_module", json!({"reference": "a"}));
    server.create("data_stream_module", json!({"reference": "b"}));

    let portal = server.get("/erp5").json();
    let module = server.get("/erp5/data_stream_module").json();

    let streams = portal["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "data_stream_module")
        .unwrap()
        .clone();
    assert_eq!(streams["count"], 2);
    assert_eq!(portal["modules"].as_array().unwrap().len(), 5);
    assert_eq!(module["count"], 2);
    assert_eq!(module["documents"][1]["reference"], "b");
}

#[test]
fn search_finds_by_portal_type_and_reference() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.create("data_stream_module", json!({"reference": "p0"}));
    server.create(
        "data_stream_module",
        json!({"reference": "p1", "title": "wanted"}),
    );
    server.create("image_module", json!({"reference": "p1"}));

    let query = "portal_type%3A%22Data%20Stream%22%20AND%20reference%3A%22p1%22";
    let response = server.get(&format!(
        "/erp5/web_site_module/hateoas/ERP5Document_getHateoas?mode=search&query={query}&select_list=title"
    ));

    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/hal+json")
    );
    let contents = response.json()["_embedded"]["contents"].clone();
    assert_eq!(contents.as_array().unwrap().len(), 1);
    assert_eq!(
        contents[0]["_links"]["self"]["href"],
        "urn:jio:get:data_stream_module/2"
    );
    assert_eq!(contents[0]["title"], "wanted");
    assert!(contents[0].get("reference").is_none());
}

#[test]
fn search_with_an_unknown_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let response = server.get("/erp5/ERP5Document_getHateoas?mode=search&query=owner%3Ax");

    assert_eq!(response.status, 400);
    assert!(response.text().contains("owner"), "{}", response.text());
}

#[test]
fn traverse_answers_the_property_dict() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.create("data_stream_module", json!({"reference": "p1"}));

    let response = server.get(
        "/erp5/web_site_module/hateoas/hateoas/ERP5Document_getHateoas?mode=traverse&relative_url=data_stream_module/1",
    );

    assert_eq!(response.json()["reference"], "p1");
    assert_eq!(
        response.json()["_links"]["self"]["href"],
        "urn:jio:get:data_stream_module/1"
    );
}

#[test]
fn unknown_modules_ids_and_methods_answer_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.create("data_stream_module", json!({"reference": "a"}));

    let module = server.get("/erp5/person_module");
    let id = server.get("/erp5/data_stream_module/99");
    let method = server.get("/erp5/data_stream_module/1/manage_delete");
    let outside = server.get("/other");

    assert_eq!(module.status, 404);
    assert!(module.text().contains("person_module"));
    assert_eq!(id.status, 404);
    assert!(id.text().contains("99"));
    assert_eq!(method.status, 404);
    assert!(method.text().contains("manage_delete"));
    assert_eq!(outside.status, 404);
}

#[test]
fn references_with_dot_dot_or_nul_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let dot_dot = server.post_json(
        "/erp5/data_stream_module/newContent",
        json!({"reference": "../../etc"}),
    );
    let nul = server.post_form("/erp5/data_stream_module/newContent", "reference=a%00b");
    let tag = server.request(
        "POST",
        "/erp5/portal_ingestion_policies/default/ingest?reference=..%2Fx",
        &[],
        &support::frame_str(1, "x"),
    );

    for response in [&dot_dot, &nul, &tag] {
        assert_eq!(response.status, 400, "{}", response.text());
        assert!(response.text().contains("reference"), "{}", response.text());
    }
    assert_eq!(server.get("/erp5/data_stream_module").json()["count"], 0);
}

#[test]
fn wrong_portal_type_for_a_module_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let response = server.post_json(
        "/erp5/image_module/newContent",
        json!({"portal_type": "Data Stream"}),
    );

    assert_eq!(response.status, 400);
    assert!(response.text().contains("Image"), "{}", response.text());
}

#[test]
fn edit_changes_title_and_extra_properties_but_not_the_portal_type() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create("data_stream_module", json!({"reference": "a"}));
    let path = format!("/erp5/data_stream_module/{id}");

    let edited = server.post_json(
        &format!("{path}/edit"),
        json!({"title": "New", "units": "V"}),
    );
    let refused = server.post_json(&format!("{path}/edit"), json!({"portal_type": "Image"}));

    assert_eq!(edited.status, 200);
    assert_eq!(edited.json()["title"], "New");
    assert_eq!(
        server.get(&format!("{path}/getPropertyDict")).json()["units"],
        "V"
    );
    assert_eq!(refused.status, 400);
}

#[test]
fn array_grows_by_whole_rows_and_reports_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create(
        "data_array_module",
        json!({"reference": "left", "dtype": "float64", "shape": [0, 2], "sample_rate": 44100, "units": "V"}),
    );
    let path = format!("/erp5/data_array_module/{id}");
    let first = f64_rows(&[[1.0, 2.0], [3.0, 4.0]]);
    let second = f64_rows(&[[5.5, -6.25]]);

    assert_eq!(server.append(&path, 0, &first).status, 204);
    assert_eq!(server.append(&path, 32, &second).status, 204);
    let dict = server.get(&format!("{path}?format=json")).json();
    let row_two = server.get_range(&path, "bytes=32-47");

    assert_eq!(dict["dtype"], "<f8");
    assert_eq!(dict["shape"], json!([3, 2]));
    assert_eq!(dict["size"], 48);
    assert_eq!(dict["sample_rate"], 44100);
    assert_eq!(dict["units"], "V");
    assert_eq!(row_two.body, second);
    assert_eq!(
        server.get(&format!("{path}/getArrayShape")).text(),
        "(3, 2)"
    );
    assert_eq!(server.get(&format!("{path}/getArrayDtype")).text(), "<f8");
}

#[test]
fn partial_array_row_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create("data_array_module", json!({"dtype": "<c16", "shape": [0]}));
    let path = format!("/erp5/data_array_module/{id}");

    let response = server.append(&path, 0, &[0u8; 24]);

    assert_eq!(response.status, 400);
    assert!(
        response
            .header("x-explanation")
            .unwrap()
            .contains("whole rows")
    );
    assert!(
        response.text().contains("16-byte row"),
        "{}",
        response.text()
    );
    assert_eq!(server.get(&format!("{path}/getSize")).text(), "0");
}

#[test]
fn array_created_with_rows_holds_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create(
        "data_array_module",
        json!({"dtype": "<i2", "shape": "(3, 4)"}),
    );
    let path = format!("/erp5/data_array_module/{id}");

    assert_eq!(server.raw(&path), vec![0u8; 24]);
    assert_eq!(
        server.get(&format!("{path}?format=json")).json()["shape"],
        json!([3, 4])
    );
}

#[test]
fn bad_dtypes_and_shapes_are_refused_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let cases = [
        (json!({"dtype": ">f8", "shape": [0]}), ">f8"),
        (json!({"dtype": "float128", "shape": [0]}), "float128"),
        (json!({"dtype": "<f8", "shape": [0, 0]}), "shape"),
        (json!({"dtype": "<f8", "shape": [-1]}), "shape"),
        (json!({"dtype": "<f8"}), "shape"),
    ];
    for (fields, named) in cases {
        let response = server.post_json("/erp5/data_array_module/newContent", fields.clone());

        assert_eq!(response.status, 400, "{fields}");
        assert!(
            response.text().contains(named),
            "{fields}: {}",
            response.text()
        );
    }
}

#[test]
fn images_answer_their_bytes_with_the_detected_type() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let png_path = format!(
        "/erp5/image_module/{}",
        server.create("image_module", json!({"reference": "plot"}))
    );
    let svg_path = format!(
        "/erp5/image_module/{}",
        server.create("image_module", json!({"reference": "svg"}))
    );
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(pattern(4, 500));
    let svg = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>";

    assert_eq!(
        server
            .request("PUT", &png_path, &[("Content-Type", "image/png")], &png)
            .status,
        204
    );
    assert_eq!(server.request("PUT", &svg_path, &[], svg).status, 204);
    let png_back = server.get(&png_path);
    let svg_back = server.get(&svg_path);

    assert_eq!(png_back.status, 200);
    assert_eq!(png_back.header("content-type"), Some("image/png"));
    assert_eq!(png_back.body, png);
    assert_eq!(svg_back.header("content-type"), Some("image/svg+xml"));
    assert_eq!(
        server.get(&format!("{png_path}/getContentType")).text(),
        "image/png"
    );
}

#[test]
fn image_appended_in_pieces_gets_its_type_from_the_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = format!(
        "/erp5/image_module/{}",
        server.create("image_module", json!({}))
    );

    server.append(&path, 0, b"\xff\xd8\xff\xe0");
    server.append(&path, 4, b"rest");

    assert_eq!(server.get(&path).header("content-type"), Some("image/jpeg"));
}

fn nbformat_validates(text: &str) -> Result<(), String> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script = "import sys, nbformat\nnb = nbformat.reads(sys.stdin.read(), as_version=4)\nnbformat.validate(nb)\n";
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "{} does not run ({e}): run scripts/python-env.sh",
                python.display()
            )
        })?;
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn notebook_lines_are_recorded_listed_and_exported_as_valid_ipynb() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create(
        "data_notebook_module",
        json!({"reference": "demo", "title": "Demo"}),
    );
    let path = format!("/erp5/data_notebook_module/{id}");

    let first = server.post_json(
        &format!("{path}/addDataNotebookLine"),
        json!({"code": "let a = 2;\na + 1", "result": "3", "status": "ok", "duration": 0.004}),
    );
    let second = server.post_form(
        &format!("{path}/addDataNotebookLine"),
        "notebook_code=boom()&notebook_code_result=function+not+found&status=error",
    );
    let lines = server
        .get(&format!("{path}/getDataNotebookLineList"))
        .json();
    let exported = server.get(&format!("{path}/DataNotebook_exportIpynb"));

    assert_eq!(first.status, 201);
    assert_eq!(first.json()["relative_url"], "data_notebook_module/1/1");
    assert_eq!(second.json()["id"], "2");
    assert_eq!(lines.as_array().unwrap().len(), 2);
    assert_eq!(lines[0]["code"], "let a = 2;\na + 1");
    assert_eq!(lines[1]["status"], "error");
    assert_eq!(
        server.get(&format!("{path}?format=json")).json()["line_count"],
        2
    );

    assert_eq!(
        exported.header("content-type"),
        Some("application/x-ipynb+json")
    );
    let notebook = exported.json();
    assert_eq!(notebook["nbformat"], 4);
    assert_eq!(
        notebook["cells"][0]["source"],
        json!(["let a = 2;\n", "a + 1"])
    );
    assert_eq!(
        notebook["cells"][0]["outputs"][0]["data"]["text/plain"],
        json!(["3"])
    );
    assert_eq!(notebook["cells"][1]["outputs"][0]["output_type"], "error");
    nbformat_validates(&exported.text()).unwrap();
}

#[test]
fn notebook_stores_an_ipynb_file_and_refuses_other_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = format!(
        "/erp5/data_notebook_module/{}",
        server.create("data_notebook_module", json!({}))
    );
    let ipynb = br#"{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;

    let stored = server.request("PUT", &path, &[], ipynb);
    let refused = server.request("PUT", &path, &[], b"not json");
    let back = server.get(&format!("{path}?format=raw"));

    assert_eq!(stored.status, 204);
    assert_eq!(refused.status, 400);
    assert_eq!(back.body, ipynb);
    assert_eq!(
        back.header("content-type"),
        Some("application/x-ipynb+json")
    );
}

#[test]
fn missing_or_wrong_credentials_answer_401_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.create("data_stream_module", json!({}));
    let wrong = support::basic("zope", "guess");

    for path in [
        "/erp5",
        "/erp5/data_stream_module",
        "/erp5/data_stream_module/1",
        "/erp5/data_stream_module/1/getSize",
    ] {
        let none = support::raw_request(server.port, "GET", path, &[], b"").unwrap();
        let bad = support::raw_request(server.port, "GET", path, &[("Authorization", &wrong)], b"")
            .unwrap();

        assert_eq!(none.status, 401, "{path}");
        assert_eq!(
            none.header("www-authenticate"),
            Some("Basic realm=\"Zope\"")
        );
        assert_eq!(bad.status, 401, "{path}");
    }
    let ingest = support::raw_request(
        server.port,
        "POST",
        "/erp5/portal_ingestion_policies/default/ingest?reference=x",
        &[("Authorization", &wrong)],
        &support::frame_str(1, "x"),
    )
    .unwrap();
    assert_eq!(ingest.status, 401);
    assert_eq!(server.get("/erp5/data_stream_module").json()["count"], 1);
}

#[test]
fn own_credentials_replace_the_default_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--user", "alice", "--password", "s3cret"]);

    let default = server.get("/erp5");
    let own = support::raw_request(
        server.port,
        "GET",
        "/erp5",
        &[("Authorization", &support::basic("alice", "s3cret"))],
        b"",
    )
    .unwrap();

    assert_eq!(default.status, 401);
    assert_eq!(own.status, 200);
}

#[test]
fn garbage_requests_get_answers_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create("data_stream_module", json!({}));
    let path = format!("/erp5/data_stream_module/{id}");

    let odd_headers = [
        ("Range", "bytes=99999999999999999999999-"),
        ("Range", "bytes=\u{1}-2"),
        ("Content-Range", "bytes 0-18446744073709551615/0"),
        (
            "Content-Range",
            "bytes 18446744073709551615-18446744073709551615/0",
        ),
        ("Content-Length", "-5"),
    ];
    for (name, value) in odd_headers {
        for method in ["GET", "PUT"] {
            let response = support::raw_request(
                server.port,
                method,
                &path,
                &[
                    ("Authorization", &support::basic("zope", "insecure")),
                    (name, value),
                ],
                b"x",
            );
            if let Ok(response) = response {
                assert!(
                    response.status < 500,
                    "{method} {name}: {value}: {}",
                    response.status
                );
            }
        }
    }
    for weird in [
        "/erp5/%00",
        "/erp5/data_stream_module/%2e%2e/x",
        "/erp5//data_stream_module///",
        "/erp5/data_stream_module/1/2/3/4",
    ] {
        let response = server.get(weird);
        assert!(response.status < 500, "{weird}: {}", response.status);
    }

    assert_eq!(server.request("PUT", &path, &[], b"still here").status, 204);
    assert_eq!(server.raw(&path), b"still here");
}

#[test]
fn slice_index_records_select_array_rows() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create(
        "data_array_module",
        json!({"dtype": "<f8", "shape": [0, 2]}),
    );
    let path = format!("/erp5/data_array_module/{id}");
    let rows: Vec<[f64; 2]> = (0..10).map(|i| [i as f64, -(i as f64)]).collect();
    server.append(&path, 0, &f64_rows(&rows));

    let middle = server.get(&format!(
        "{path}?slice_index.start:records:int=2&slice_index.stop:records:int=5"
    ));
    let tail = server.get(&format!("{path}?slice_index.start:records:int=-2"));
    let stepped = server.get(&format!("{path}?slice_index.step:records:int=3"));

    assert_eq!(middle.status, 200);
    assert_eq!(middle.body, f64_rows(&rows[2..5]));
    assert_eq!(tail.body, f64_rows(&rows[8..]));
    assert_eq!(stepped.status, 400);
    assert!(stepped.text().contains("step"), "{}", stepped.text());
}
