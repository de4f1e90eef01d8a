//! kiln's scripts (docs/winrm-protocol.md).

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// kiln's command line for `op` with one parameter (the body is not read).
fn kiln_line(op: &str, name: &str, value: &str) -> String {
    let script = format!(
        "# kiln:{op} 1\r\n${name} = '{}'\r\n\r\n$ErrorActionPreference = 'Stop'\r\n",
        value.replace('\'', "''")
    );
    let wide: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    format!("powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {}", b64(&wide))
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Records uploading `files` (relative path, bytes) below the destination.
fn put_records(dirs: &[&str], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut s = String::new();
    for d in dirs {
        s += &format!("D {}\n", b64(d.as_bytes()));
    }
    for (path, bytes) in files {
        s += &format!("F {}\r\n", b64(path.as_bytes()));
        for chunk in bytes.chunks(5) {
            s += &format!("C {}\n", b64(chunk));
        }
        s += &format!("E {}\n", sha(bytes));
    }
    s.into_bytes()
}

fn drain(p: &mut Process, max: usize) -> (Vec<u8>, String, i32) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    loop {
        let c = p.take_output(max);
        assert!(c.stdout.len() <= max);
        out.extend(c.stdout);
        err.extend(c.stderr);
        if let Some(code) = c.exit {
            return (out, String::from_utf8(err).unwrap(), code);
        }
    }
}

#[test]
fn kind_and_list() {
    let m = machine();
    assert_eq!(run(&m, &kiln_line("kind", "path", "C:\\Windows")).0, "dir\r\n");
    assert_eq!(run(&m, &kiln_line("kind", "path", "C:/nope")).0, "missing\r\n");
    run(&m, "echo x> C:\\Windows\\Temp\\it's.txt");
    assert_eq!(run(&m, &kiln_line("kind", "path", "c:\\windows\\temp\\IT'S.txt")).0, "file\r\n");
    run(&m, "mkdir C:\\Windows\\Temp\\sub");
    let expected = format!("f {}\r\nd {}\r\n", b64(b"it's.txt"), b64(b"sub"));
    assert_eq!(run(&m, &kiln_line("list", "path", "C:\\Windows\\Temp")), (expected, String::new(), 0));
    let (_, err, code) = run(&m, &kiln_line("list", "path", "C:\\Windows\\Temp\\it's.txt"));
    assert_eq!(code, 1);
    assert_eq!(err, "C:\\Windows\\Temp\\it's.txt is not a directory\r\n");
}

#[test]
fn put_streams_files_byte_by_byte() {
    let m = machine();
    let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let records = put_records(&["", "sub", "sub/deeper"], &[("a.bin", &data), ("sub/deeper/e.txt", b"")]);
    let mut p = m.start(&kiln_line("put", "dest", "C:\\Upload"), &[], None);
    assert!(p.waiting_for_stdin());
    for b in &records {
        p.stdin(std::slice::from_ref(b), false);
        assert!(p.take_output(usize::MAX).exit.is_none());
    }
    assert!(m.file("C:\\Upload\\sub\\deeper\\e.txt").is_some());
    p.stdin(b"", true);
    assert!(!p.waiting_for_stdin());
    assert_eq!(drain(&mut p, usize::MAX), (b"done 2 1000\r\n".to_vec(), String::new(), 0));
    assert_eq!(m.file("c:/upload/a.bin").unwrap(), data);
    let paths: Vec<String> = m.files().into_iter().map(|f| f.path).collect();
    assert_eq!(paths, vec!["C:\\Upload\\a.bin", "C:\\Upload\\sub\\deeper\\e.txt"]);
    assert_eq!(m.files()[0].sha256, sha(&data));
}

#[test]
fn put_to_a_single_file_replaces_it_only_when_whole() {
    let m = machine();
    run(&m, "echo old> C:\\Windows\\Temp\\t.txt");
    let line = kiln_line("put", "dest", "C:\\Windows\\Temp\\t.txt");
    // A wrong hash: exit 2, target as it was, no temporary file.
    let mut p = m.start(&line, &[], None);
    p.stdin(format!("F \nC {}\nE {}\n", b64(b"new"), sha(b"other")).as_bytes(), true);
    let (_, err, code) = drain(&mut p, usize::MAX);
    assert_eq!(code, 2);
    assert!(err.contains("C:\\Windows\\Temp\\t.txt") && err.contains(&sha(b"new")) && err.contains(&sha(b"other")));
    assert_eq!(m.file("C:\\Windows\\Temp\\t.txt").unwrap(), b"old\r\n");
    assert!(m.file("C:\\Windows\\Temp\\t.txt.kiln-upload").is_none());
    // Interrupted: exit 3, same.
    let mut p = m.start(&line, &[], None);
    p.stdin(format!("F\nC {}\n", b64(b"new")).as_bytes(), false);
    assert_eq!(m.file("C:\\Windows\\Temp\\t.txt.kiln-upload").unwrap(), b"new");
    p.stdin(b"", true);
    assert_eq!(drain(&mut p, usize::MAX).2, 3);
    assert_eq!(m.file("C:\\Windows\\Temp\\t.txt").unwrap(), b"old\r\n");
    assert!(m.file("C:\\Windows\\Temp\\t.txt.kiln-upload").is_none());
    // Whole: replaced.
    let mut p = m.start(&line, &[], None);
    p.stdin(&put_records(&[], &[("", b"new")]), true);
    assert_eq!(drain(&mut p, usize::MAX), (b"done 1 3\r\n".to_vec(), String::new(), 0));
    assert_eq!(m.file("C:\\Windows\\Temp\\t.txt").unwrap(), b"new");
}

#[test]
fn put_refuses_targets_it_cannot_write() {
    let m = machine();
    for (dest, records) in [
        ("C:\\Missing\\f", put_records(&[], &[("", b"x")])),
        ("C:\\Windows", put_records(&[], &[("", b"x")])),
        ("C:\\Missing\\d", put_records(&["sub"], &[])),
    ] {
        let mut p = m.start(&kiln_line("put", "dest", dest), &[], None);
        p.stdin(&records, true);
        let (_, err, code) = drain(&mut p, usize::MAX);
        assert_eq!(code, 1, "{dest}");
        assert!(err.starts_with("cannot ") && err.contains(dest), "{err}");
    }
    assert!(m.files().is_empty());
}

#[test]
fn terminate_leaves_the_temporary_file_and_never_the_target() {
    let m = machine();
    let mut p = m.start(&kiln_line("put", "dest", "C:\\Windows\\Temp\\big.bin"), &[], None);
    p.stdin(format!("F \nC {}\n", b64(b"part")).as_bytes(), false);
    p.terminate();
    assert!(!p.waiting_for_stdin());
    p.stdin(format!("E {}\n", sha(b"part")).as_bytes(), true);
    assert_eq!(p.take_output(usize::MAX).exit, Some(TERMINATED_EXIT_CODE));
    assert_eq!(TERMINATED_EXIT_CODE as u32, 0xC000_013A);
    assert_eq!(m.file("C:\\Windows\\Temp\\big.bin.kiln-upload").unwrap(), b"part");
    assert!(m.file("C:\\Windows\\Temp\\big.bin").is_none());
}

#[test]
fn get_makes_records_lazily_within_the_limit() {
    let m = machine();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    let mut up = m.start(&kiln_line("put", "dest", "C:\\Src"), &[], None);
    up.stdin(&put_records(&["", "d", "d/e"], &[("d/e/big.bin", &data), ("a.txt", b"hi"), ("d/z", b"")]), true);
    assert_eq!(drain(&mut up, usize::MAX).2, 0);

    let mut p = m.start(&kiln_line("get", "src", "C:\\Src"), &[], None);
    let (out, err, code) = drain(&mut p, 1000);
    assert_eq!((err.as_str(), code), ("", 0));
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains('\r'), "get's writer ends lines with \\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let heads: Vec<String> =
        lines.iter().filter(|l| !l.starts_with("C ")).map(|l| l.chars().take(1).collect()).collect();
    // D "", F a.txt, E, D d, D d/e, F d/e/big.bin, E, F d/z, E, done.
    assert_eq!(heads.concat(), "DFEDDFEFEd");
    let expect_start = ["D ".to_string(), format!("F {}", b64(b"a.txt"))];
    assert_eq!(lines[..2], expect_start);
    assert!(lines.contains(&format!("D {}", b64(b"d")).as_str()));
    assert!(lines.contains(&format!("E {}", sha(&data)).as_str()));
    assert_eq!(lines[lines.len() - 2], format!("done 3 {}", data.len() + 2));
    let big: Vec<u8> = lines
        .iter()
        .skip_while(|l| **l != format!("F {}", b64(b"d/e/big.bin")))
        .skip(1)
        .take_while(|l| l.starts_with("C "))
        .flat_map(|l| base64::engine::general_purpose::STANDARD.decode(&l[2..]).unwrap())
        .collect();
    assert_eq!(big, data);

    let (out, _, code) = drain(&mut m.start(&kiln_line("get", "src", "C:\\Src\\a.txt"), &[], None), 3);
    assert_eq!(code, 0);
    assert_eq!(out, format!("F \nC {}\nE {}\ndone 1 2\n", b64(b"hi"), sha(b"hi")).into_bytes());
    let (_, err, code) = drain(&mut m.start(&kiln_line("get", "src", "C:\\Nope"), &[], None), 3);
    assert_eq!(code, 1);
    assert!(err.contains("C:\\Nope"));
}

#[test]
fn header_values_undouble_every_powershell_quote() {
    let m = machine();
    run(&m, "mkdir \"C:\\it’s ‘here’\"");
    let script = "# kiln:kind 1\n$path = 'C:\\it’’s ‘‘here’’'\n\nexit 0\n";
    let wide: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(run(&m, &format!("powershell.exe -EncodedCommand {}", b64(&wide))).0, "dir\r\n");
}

#[test]
fn put_drops_a_file_left_without_its_e_and_says_failures_as_the_script() {
    let m = machine();
    let mut p = m.start(&kiln_line("put", "dest", "C:\\Windows\\Temp"), &[], None);
    let rest = put_records(&[], &[("b", b"bb")]);
    p.stdin(format!("F {}\nC {}\n", b64(b"a"), b64(b"aa")).as_bytes(), false);
    p.stdin(&rest, true);
    assert_eq!(drain(&mut p, usize::MAX), (b"done 1 4\r\n".to_vec(), String::new(), 0));
    assert!(m.file("C:\\Windows\\Temp\\a.kiln-upload").is_none() && m.file("C:\\Windows\\Temp\\a").is_none());
    let mut p = m.start(&kiln_line("put", "dest", "C:\\Windows\\Temp\\x"), &[], None);
    p.stdin(format!("F \nC {}\n", b64(b"x")).as_bytes(), true);
    let t = "C:\\Windows\\Temp\\x";
    assert_eq!(
        drain(&mut p, 9).1,
        format!("stdin ended inside {t}: the upload was interrupted, {t} was not changed\r\n")
    );
    let mut p = m.start(&kiln_line("put", "dest", t), &[], None);
    p.stdin(format!("F \nE {}\n", sha(b"x")).as_bytes(), true);
    let want = format!("{t}: the bytes written hash to {}, not {}; {t} was not changed\r\n", sha(b""), sha(b"x"));
    assert_eq!(drain(&mut p, 9), (Vec::new(), want, 2));
    let mut p = m.start(&kiln_line("put", "dest", t), &[], None);
    p.stdin(b"C AAAA\n", true);
    assert_eq!(drain(&mut p, 9), (Vec::new(), "C outside a file\r\n".into(), 1));
}

#[test]
fn put_refuses_a_record_line_longer_than_it_holds() {
    let m = machine();
    let t = "C:\\Windows\\Temp\\big";
    let mut p = m.start(&kiln_line("put", "dest", t), &[], None);
    p.stdin(b"F \nC ", false);
    assert!(m.file("C:\\Windows\\Temp\\big.kiln-upload").is_some());
    let piece = vec![b'A'; 4 * 1024 * 1024];
    let mut sent = 0;
    while p.waiting_for_stdin() {
        p.stdin(&piece, false);
        sent += piece.len();
        assert!(sent <= super::super::kiln::MAX_RECORD_LINE + piece.len(), "put held more than its cap");
    }
    let want = format!("cannot write {t}: Exception of type 'System.OutOfMemoryException' was thrown.\r\n");
    assert_eq!(drain(&mut p, usize::MAX), (Vec::new(), want, 1));
    assert!(m.file("C:\\Windows\\Temp\\big.kiln-upload").is_none(), "the script's cleanup deletes it");
    // One line within the cap is fine, however it is cut.
    let mut p = m.start(&kiln_line("put", "dest", t), &[], None);
    p.stdin(b"F \nC ", false);
    for b in b64(b"hello").bytes() {
        p.stdin(&[b], false);
    }
    p.stdin(format!("\nE {}\n", sha(b"hello")).as_bytes(), true);
    assert_eq!(drain(&mut p, usize::MAX).2, 0);
    assert_eq!(m.file(t).unwrap(), b"hello");
}
