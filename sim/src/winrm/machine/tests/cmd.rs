//! The cmd.exe subset.

use super::*;

#[test]
fn echo_redirection_is_byte_exact() {
    let m = machine();
    // winrmcp's chunk line: cmd keeps the space before `>>`.
    assert_eq!(run(&m, "echo QUJD >> \"%TEMP%\\winrmcp-1.tmp\"").2, 0);
    run(&m, "echo REVG >> \"%TEMP%\\winrmcp-1.tmp\"");
    assert_eq!(m.file("C:/users/KILN/appdata/local/temp/winrmcp-1.tmp").unwrap(), b"QUJD \r\nREVG \r\n");
    run(&m, "echo one>C:\\Windows\\Temp\\f.txt");
    assert_eq!(m.file("C:\\Windows\\Temp\\f.txt").unwrap(), b"one\r\n");
    run(&m, "echo two > C:\\Windows\\Temp\\f.txt");
    assert_eq!(m.file("C:\\Windows\\Temp\\f.txt").unwrap(), b"two \r\n");
    assert_eq!(run(&m, "echo x > C:\\nope\\f").1, "The system cannot find the path specified.\r\n");
}

#[test]
fn echo_forms() {
    let m = machine();
    assert_eq!(run(&m, "echo").0, "ECHO is on.\r\n");
    assert_eq!(run(&m, "echo  two  spaces ").0, " two  spaces \r\n");
    assert_eq!(run(&m, "echo \"quoted & kept\"").0, "\"quoted & kept\"\r\n");
    assert_eq!(run(&m, "echo %NOPE%").0, "%NOPE%\r\n");
    assert_eq!(run(&m, "echo a ^& b").0, "a & b\r\n");
}

#[test]
fn chains_and_exit_codes() {
    let m = machine();
    assert_eq!(run(&m, "exit 3"), (String::new(), String::new(), 3));
    assert_eq!(run(&m, "exit /b 4 & echo no").2, 4);
    assert_eq!(run(&m, "echo a& echo b").0, "a\r\nb\r\n");
    assert_eq!(run(&m, "type nope && echo no || echo yes").0, "yes\r\n");
    let (out, err, code) = run(&m, "frobnicate --now");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "'frobnicate' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
    );
    assert_eq!(code, 9009, "cmd's errorlevel for a command it cannot find");
    assert_eq!(run(&m, "frobnicate || echo failed").0, "failed\r\n");
}

#[test]
fn builtins() {
    let m = machine();
    assert_eq!(run(&m, "hostname").0, "win-sim\r\n");
    assert_eq!(run(&m, "whoami").0, "win-sim\\kiln\r\n");
    assert!(run(&m, "ver").0.starts_with("\r\nMicrosoft Windows [Version 10.0."));
    assert_eq!(run(&m, "cd").0, "C:\\Users\\kiln\r\n");
    assert_eq!(run(&m, "cd C:\\Windows & cd").0, "C:\\Windows\r\n");
    assert_eq!(run(&m, "mkdir a\\b\\c").2, 0);
    assert_eq!(run(&m, "md a").1, "A subdirectory or file a already exists.\r\n");
    run(&m, "echo hi> a\\b\\c\\x.txt");
    assert_eq!(run(&m, "type a\\b\\c\\x.txt"), ("hi\r\n".into(), String::new(), 0));
    assert_eq!(run(&m, "type a\\nope.txt").1, "The system cannot find the file specified.\r\n");
    assert_eq!(run(&m, "del /f /q a\\b\\c\\x.txt").2, 0);
    assert!(m.file("a/b/c/x.txt").is_none());
    assert_eq!(run(&m, "del a\\gone").1, "Could Not Find C:\\Users\\kiln\\a\\gone\r\n");
}

#[test]
fn environment_and_working_directory() {
    let m = machine();
    let set = run(&m, "set").0;
    for line in [
        "COMPUTERNAME=WIN-SIM\r\n",
        "OS=Windows_NT\r\n",
        "PROCESSOR_ARCHITECTURE=AMD64\r\n",
        "SystemRoot=C:\\Windows\r\n",
        "TEMP=C:\\Users\\kiln\\AppData\\Local\\Temp\r\n",
        "USERPROFILE=C:\\Users\\kiln\r\n",
        "windir=C:\\Windows\r\n",
    ] {
        assert!(set.contains(line), "{line} in {set}");
    }
    let mut p = m.start("echo %FOO% & cd", &[("FOO".into(), "bar".into())], Some("C:\\Windows\\Temp"));
    assert_eq!(p.take_output(usize::MAX).stdout, b"bar \r\nC:\\Windows\\Temp\r\n");
    assert_eq!(run(&m, "set path").0.lines().count(), 2, "PATH and PATHEXT");
    assert_eq!(run(&m, "cmd /c \"echo inner\"").0, "inner\r\n");
}

#[test]
fn output_is_taken_in_pieces_and_exit_comes_last() {
    let m = machine();
    let mut p = m.start("echo 0123456789", &[], None);
    assert!(!p.waiting_for_stdin());
    let c = p.take_output(4);
    assert_eq!((c.stdout.as_slice(), c.exit), (&b"0123"[..], None));
    let c = p.take_output(100);
    assert_eq!((c.stdout.as_slice(), c.exit), (&b"456789\r\n"[..], Some(0)));
}
