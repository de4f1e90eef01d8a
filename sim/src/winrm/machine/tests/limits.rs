//! Input that must neither hang, overflow the stack, panic nor allocate
//! without bound: whatever a client sends, the machine answers.

use std::sync::mpsc;
use std::time::Duration;

use super::pslang::{Interp, MAX_DEPTH, statements};
use super::*;

/// kiln's real scripts (their raw-string bodies), the corpus of the sweeps.
const KILN_SCRIPTS: &str = include_str!("../../../../../host/src/caps/comm/winrm/scripts.rs");

/// Scripts the machine sees: kiln's bodies, Packer's shapes and odd ones.
fn corpus() -> Vec<String> {
    let mut out: Vec<String> =
        KILN_SCRIPTS.split("r#\"").skip(1).filter_map(|s| s.split("\"#").next()).map(str::to_string).collect();
    assert!(out.len() >= 4, "kiln's scripts were not found in scripts.rs");
    out.extend(
        [
            "$h = @{a=1;b=2}; Write-Output $h",
            "Write-Output (1;2)",
            ") ; echo a } ; echo b",
            "& { if (Test-Path variable:global:ProgressPreference){set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'};. C:\\v.ps1; &'C:\\s.ps1'; exit $LastExitCode }",
            "$file=[System.IO.File]::ReadAllBytes(\"C:\\x\"); Write-Output $([System.Convert]::ToBase64String($file))",
            "echo \"${env:TEMP} ${ ${ `\" $ `\"",
            "<# unterminated comment",
            "if (if (if (1) {2}) {3}) {4} elseif",
        ]
        .map(str::to_string),
    );
    out
}

/// Runs `f` on a thread of the default 2 MiB stack (what a tokio worker
/// has); fails if it does not end within `secs` seconds.
fn ends_within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap();
    rx.recv_timeout(Duration::from_secs(secs)).expect("the machine did not end (or it panicked)")
}

/// Runs `script` through the PowerShell subset directly.
fn ps(m: &Arc<WindowsMachine>, script: &str) -> (Output, i32) {
    limited(m, MAX_OUTPUT, |ctx| pscript::run(ctx, script))
}

/// Runs `f` in a command's context whose output bound is `max_output`.
fn limited(m: &Arc<WindowsMachine>, max_output: usize, f: impl FnOnce(&mut Ctx<'_>) -> i32) -> (Output, i32) {
    let mut fs = m.lock();
    let mut ctx = Ctx {
        machine: m,
        fs: &mut fs,
        env: env::Env::for_machine("win-sim", "kiln", &[]),
        cwd: "C:\\Users\\kiln".into(),
        user: "kiln".into(),
        out: Output::default(),
        nesting: 0,
        held: 0,
        max_output,
        out_of_room: false,
    };
    let code = f(&mut ctx);
    (std::mem::take(&mut ctx.out), code)
}

#[test]
fn semicolons_inside_brackets_end_and_tokenize() {
    let m = machine();
    for script in ["$h = @{a=1;b=2}", "Write-Output (1;2)", "echo a ) ; echo b", "}; ;) ;; (;", "$x = (;"] {
        let m = Arc::clone(&m);
        let script = script.to_string();
        let (_, code) = ends_within(10, move || ps(&m, &script));
        assert!(code == 0 || code == 1, "{code}");
    }
    let interp = Interp::new();
    let m2 = Arc::clone(&m);
    let toks = {
        let mut fs = m2.lock();
        let ctx = Ctx {
            machine: &m2,
            fs: &mut fs,
            env: env::Env::default(),
            cwd: "C:\\".into(),
            user: "kiln".into(),
            out: Output::default(),
            nesting: 0,
            held: 0,
            max_output: MAX_OUTPUT,
            out_of_room: false,
        };
        interp.tokens(&ctx, "$h = @{a=1;b=2}")
    };
    assert!(toks.len() < 16, "{toks:?}");
    // An unbalanced `)` does not stop `;` from splitting what follows.
    let texts: Vec<String> = statements(") ; echo a; echo b").into_iter().map(|s| s.text).collect();
    assert_eq!(texts, [")", "echo a", "echo b"]);
    assert_eq!(run(&m, "powershell -c \") ; echo after\"").0, "after\r\n");
}

#[test]
fn every_truncation_of_real_scripts_ends() {
    let m = machine();
    ends_within(120, move || {
        for script in corpus() {
            let cuts: Vec<usize> = (0..=script.len()).filter(|&i| script.is_char_boundary(i)).collect();
            for &i in &cuts {
                for piece in [&script[..i], &script[i..]] {
                    let _ = ps(&m, piece);
                    // The same text as a command line and as an encoded script.
                    let _ = m.start(piece, &[], None).take_output(usize::MAX);
                    let _ = m.start(&powershell_line(piece), &[], None).take_output(usize::MAX);
                }
            }
        }
    });
}

/// pywinrm's view of a CLIXML stream: the `S` nodes' text.
fn clean(stderr: &str) -> String {
    stderr
        .split("<S S=\"Error\">")
        .skip(1)
        .map(|s| s.split("</S>").next().unwrap_or("").replace("_x000D__x000A_", "\n"))
        .collect()
}

#[test]
fn a_script_that_runs_itself_overflows_the_call_depth_as_powershell_does() {
    let m = machine();
    write(&m, "C:\\a.ps1", b"echo in\r\n& 'C:\\a.ps1'\r\necho never-after\r\n");
    let m2 = Arc::clone(&m);
    let (out, err, code) = ends_within(30, move || run(&m2, "powershell -c \"& 'C:\\a.ps1'; echo not-this\""));
    assert_eq!(code, 1);
    assert_eq!(out.matches("in\r\n").count(), MAX_DEPTH - 1, "one level is the command itself");
    assert!(!out.contains("never-after") && !out.contains("not-this"), "{out}");
    assert!(err.starts_with("#< CLIXML\r\n"), "{err}");
    assert_eq!(
        clean(&err),
        "The script failed due to call depth overflow.\n    + CategoryInfo          : InvalidOperation: (0:Int32) \
         [], ParentContainsErrorRecordException\n    + FullyQualifiedErrorId : CallDepthOverflow\n \n"
    );
    // `. file` and nested script blocks and `if` bodies count the same way.
    write(&m, "C:\\b.ps1", b". C:\\b.ps1");
    let m2 = Arc::clone(&m);
    assert_eq!(ends_within(30, move || run(&m2, "powershell -c \". C:\\b.ps1\"")).2, 1);
    let deep = format!("{}echo deep{}", "& { ".repeat(300), " }".repeat(300));
    let m2 = Arc::clone(&m);
    let (out, code) = ends_within(30, move || ps(&m2, &deep));
    assert_eq!((code, out.stdout.as_slice()), (1, &b""[..]));
    assert!(clean(&String::from_utf8(out.stderr).unwrap()).contains("call depth overflow"));
    let deep = format!("{}echo deep{}", "if ($true) { ".repeat(300), " }".repeat(300));
    let m2 = Arc::clone(&m);
    assert_eq!(ends_within(30, move || ps(&m2, &deep)).1, 1);
    // Within the limit, nesting works.
    let ok = format!("{}echo deep{}", "& { ".repeat(20), " }".repeat(20));
    let (out, code) = ps(&m, &ok);
    assert_eq!((out.stdout.as_slice(), code), (&b"deep\r\n"[..], 0));
}

#[test]
fn cmd_nesting_is_bounded() {
    let m = machine();
    // As deep as a command line can make it: 8191 characters of `cmd /c`.
    let line = format!("{}echo deep", "cmd /c ".repeat(1100));
    let m2 = Arc::clone(&m);
    let (out, err, code) = ends_within(30, move || run(&m2, &line));
    assert_eq!((out.as_str(), code), ("", 1));
    assert!(err.contains("B A T C H   R E C U R S I O N"), "{err}");
    assert_eq!(run(&m, &format!("{}echo deep", "cmd /c ".repeat(10))).0, "deep\r\n");
    // A batch file that runs itself: a real one loops for ever.
    write(&m, "C:\\loop.bat", b"@echo off\r\necho round\r\nC:\\loop.bat\r\necho back\r\n");
    let m2 = Arc::clone(&m);
    let (out, err, code) = ends_within(30, move || run(&m2, "C:\\loop.bat & echo after"));
    assert_eq!(code, 1);
    assert_eq!(out.matches("round").count(), super::super::MAX_NESTING);
    assert!(!out.contains("back") && !out.contains("after"), "the whole line is aborted: {out}");
    assert!(err.contains("B A T C H   PROCESSING IS   A B O R T E D"), "{err}");
    // The deepest cmd nesting with the deepest PowerShell inside still fits
    // the stack.
    write(&m, "C:\\ps.ps1", b"& 'C:\\ps.ps1'");
    let mut batch = String::from("@echo off\r\n");
    batch.push_str("powershell -c \"& 'C:\\ps.ps1'\"\r\nC:\\deep.bat\r\n");
    write(&m, "C:\\deep.bat", batch.as_bytes());
    let m2 = Arc::clone(&m);
    assert_eq!(ends_within(60, move || run(&m2, "C:\\deep.bat")).2, 1);
}

#[test]
fn long_batch_lines_and_expansions_are_refused_as_cmd_refuses_them() {
    let m = machine();
    write(&m, "C:\\long.bat", format!("echo {}\r\necho next\r\n", "x".repeat(9000)).as_bytes());
    assert_eq!(run(&m, "C:\\long.bat"), ("next\r\n".into(), "The command line is too long.\r\n".into(), 0));
    let value = "y".repeat(5000);
    let (_, err, code) = run(&m, &format!("set BIG={value}& echo %BIG%"));
    assert_eq!((err.as_str(), code), ("", 0));
    let mut p = m.start("echo %BIG%%BIG%", &[("BIG".into(), value)], None);
    let c = p.take_output(usize::MAX);
    assert_eq!((c.stderr.as_slice(), c.exit), (&b"The command line is too long.\r\n"[..], Some(1)));
}

#[test]
fn deep_directories_are_made_and_read_without_recursion() {
    let m = machine();
    // As deep as put's D records can make it, one level per record.
    let depth = 5_000;
    {
        let mut fs = m.lock();
        let mut path = String::from("C:\\d");
        for _ in 0..depth {
            fs.mkdir(&path).unwrap();
            path.push_str("\\d");
        }
        fs.write(&format!("{path}.txt"), b"end".to_vec()).unwrap();
    }
    let m2 = Arc::clone(&m);
    let (files, dirs) = ends_within(60, move || {
        let mut fs = m2.lock();
        let mut ctx = Ctx {
            machine: &m2,
            fs: &mut fs,
            env: env::Env::default(),
            cwd: "C:\\".into(),
            user: "kiln".into(),
            out: Output::default(),
            nesting: 0,
            held: 0,
            max_output: MAX_OUTPUT,
            out_of_room: false,
        };
        let Ended::Job(Job::Get(mut get)) =
            super::super::kiln::start(&mut ctx, "# kiln:get 1\r\n$src = 'C:\\d'\r\n\r\n").unwrap()
        else {
            panic!("get did not start")
        };
        let mut out = Vec::new();
        while get.produce(&mut out, usize::MAX).is_none() {}
        let text = String::from_utf8(out).unwrap();
        (text.lines().filter(|l| l.starts_with("F ")).count(), text.lines().filter(|l| l.starts_with("D ")).count())
    });
    assert_eq!((files, dirs), (1, depth));
    let m2 = Arc::clone(&m);
    let deep = format!("C:\\e{}", "\\e".repeat(depth));
    ends_within(60, move || m2.lock().mkdir_all(&deep).unwrap());
}

#[test]
fn doubling_a_string_is_capped() {
    let m = machine();
    let script = format!("$a = 'xx'\n{}Write-Output \"$a$a\"", "$a = \"$a$a$a$a\"\n".repeat(60));
    let m2 = Arc::clone(&m);
    let (out, code) = ends_within(60, move || ps(&m2, &script));
    assert_eq!(code, 0);
    assert_eq!(out.stdout.len(), super::pslang::MAX_STRING + 2, "the string is cut at the cap, then CRLF");
}

#[test]
fn files_copied_into_one_another_fill_the_disk_not_the_memory() {
    let m = machine();
    m.lock().disk = 1024 * 1024;
    write(&m, "C:\\a", &[b'x'; 1000]);
    // Each `type` doubles a file; a real disk fills up, so does this one.
    let line = "type C:\\a >> C:\\b & type C:\\b >> C:\\a & ".repeat(40);
    let m2 = Arc::clone(&m);
    let (_, err, _) = ends_within(60, move || run(&m2, &line));
    assert!(err.contains("There is not enough space on the disk."), "{err}");
    let used: u64 = m.files().iter().map(|f| f.size).sum();
    assert!(used <= 1024 * 1024, "{used}");
    // A put that does not fit fails naming its temporary file; removing
    // files gives their room back.
    let mut p = m.start(&powershell_kiln_put("C:\\c"), &[], None);
    use base64::Engine as _;
    let chunk = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 600 * 1024]);
    p.stdin(format!("F \nC {chunk}\nC {chunk}\n").as_bytes(), true);
    let c = p.take_output(usize::MAX);
    assert_eq!(c.exit, Some(1));
    let err = String::from_utf8(c.stderr).unwrap();
    assert_eq!(err, "cannot write C:\\c.kiln-upload: There is not enough space on the disk.\r\n");
    assert_eq!(run(&m, "del C:\\a C:\\b").2, 0);
    let mut p = m.start(&powershell_kiln_put("C:\\c"), &[], None);
    let sha: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(vec![0u8; 600 * 1024]).iter().map(|b| format!("{b:02x}")).collect()
    };
    p.stdin(format!("F \nC {chunk}\nE {sha}\n").as_bytes(), true);
    assert_eq!(p.take_output(usize::MAX).exit, Some(0));
}

/// kiln's `put` command line for `dest` (the body is not read).
fn powershell_kiln_put(dest: &str) -> String {
    use base64::Engine as _;
    let script = format!("# kiln:put 1\r\n$dest = '{dest}'\r\n\r\n");
    let wide: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    format!("powershell.exe -EncodedCommand {}", base64::engine::general_purpose::STANDARD.encode(wide))
}

#[test]
fn output_is_bounded_however_it_is_amplified() {
    let m = machine();
    write(&m, "C:\\f", &[b'x'; 10_000]);
    let max = 100_000;
    let full = |out: &Output| String::from_utf8_lossy(&out.stderr).contains("keeps at most 100000 bytes");
    let line = "type C:\\f & ".repeat(500);
    let (out, code) = limited(&m, max, |ctx| match super::super::cmd::run_line(ctx, &line) {
        Ended::Exit(c) => c,
        Ended::Job(_) => -1,
    });
    assert_eq!(code, 1);
    assert!(out.stdout.len() <= max + 10_000 && full(&out), "{}", out.stdout.len());
    let script = format!("$a = '{}'\n{}", "x".repeat(10_000), "Write-Output $a $a $a $a\n".repeat(500));
    let (out, code) = limited(&m, max, |ctx| pscript::run(ctx, &script));
    assert_eq!(code, 1, "{} {}", out.stdout.len(), String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.len() <= max + 40_010 && full(&out), "{}", out.stdout.len());
    let script = format!("$a = 'xxxxxxxxxx'\nWrite-Output {}", "$a ".repeat(5000));
    let (out, _) = limited(&m, 1000, |ctx| pscript::run(ctx, &script));
    assert!(out.stdout.len() <= 1000 + 12, "{}", out.stdout.len());
}
