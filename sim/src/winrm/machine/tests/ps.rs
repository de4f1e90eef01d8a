//! powershell.exe invocations and the PowerShell subset.

use super::*;

/// What pywinrm's `_clean_error_msg` makes of a CLIXML stderr: the `S`
/// nodes' text with `_x000D__x000A_` as a newline.
fn clean(stderr: &str) -> String {
    let body = stderr.strip_prefix("#< CLIXML\r\n").expect("CLIXML header");
    assert!(body.starts_with("<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">"));
    assert!(body.ends_with("</Objs>"));
    body.split("<S S=\"Error\">")
        .skip(1)
        .map(|s| {
            s.split("</S>")
                .next()
                .unwrap()
                .replace("_x000D__x000A_", "\n")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn invocations_and_flags() {
    let m = machine();
    assert_eq!(run(&m, "powershell -Command \"Write-Output 'hi'\"").0, "hi\r\n");
    assert_eq!(run(&m, "POWERSHELL.EXE -NoProfile -NonInteractive -c echo hi").0, "hi\r\n");
    assert_eq!(
        run(&m, "PowerShell -nop -ExecutionPolicy Bypass -InputFormat None -OutputFormat Text echo x").0,
        "x\r\n"
    );
    let line = powershell_line("Write-Output \"$env:COMPUTERNAME on $env:OS\"; exit 5");
    assert_eq!(run(&m, &line), ("WIN-SIM on Windows_NT\r\n".into(), String::new(), 5));
    let line = line.replace(
        "powershell.exe -EncodedCommand",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -enc",
    );
    assert_eq!(run(&m, &line).2, 5);
    assert_eq!(run(&m, "powershell -e !!!").2, 1);
}

#[test]
fn statements_strings_and_variables() {
    let m = machine();
    let script = "$ProgressPreference = 'SilentlyContinue'\r\n$env:GREETING = 'it''s'\r\n\
                  # a comment\r\nWrite-Host \"say: $env:GREETING`t!\"; echo 'a' \"b\"\r\n'plain'\r\nhostname";
    let (out, err, code) = run(&m, &powershell_line(script));
    assert_eq!(out, "say: it's\t!\r\na\r\nb\r\nplain\r\nwin-sim\r\n");
    assert_eq!((err.as_str(), code), ("", 0));
}

#[test]
fn write_error_is_the_clixml_stream() {
    let m = machine();
    let (out, err, code) = run(&m, &powershell_line("Write-Error 'boom'"));
    assert_eq!(out, "");
    assert_eq!(
        err,
        "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">\
         <S S=\"Error\">Write-Error 'boom' : boom_x000D__x000A_</S>\
         <S S=\"Error\">    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException_x000D__x000A_</S>\
         <S S=\"Error\">    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException_x000D__x000A_</S>\
         <S S=\"Error\"> _x000D__x000A_</S></Objs>"
    );
    assert_eq!(code, 1);
    // Not the last statement: the exit code is the last one's.
    assert_eq!(run(&m, &powershell_line("Write-Error 'x'; echo y")).2, 0);
}

#[test]
fn unknown_commands_are_not_recognized() {
    let m = machine();
    let (_, err, code) = run(&m, &powershell_line("echo ok\n  Get-Frob -Now"));
    assert_eq!(code, 1);
    assert_eq!(
        clean(&err),
        "Get-Frob : The term 'Get-Frob' is not recognized as the name of a cmdlet, function, script file, or operable \
         program. \nCheck the spelling of the name, or if a path was included, verify that the path is correct and try \
         again.\nAt line:2 char:3\n+   Get-Frob -Now\n+   ~~~~~~~~\n    + CategoryInfo          : ObjectNotFound: \
         (Get-Frob:String) [], CommandNotFoundException\n    + FullyQualifiedErrorId : CommandNotFoundException\n \n"
    );
}

#[test]
fn file_cmdlets() {
    let m = machine();
    let script = "New-Item -ItemType Directory -Force -Path C:\\Work\\Sub | Out-Null\n\
                  Test-Path C:\\work\\sub -PathType Container\n\
                  Test-Path 'C:\\work\\nope'\n\
                  Set-Frob x y";
    let (out, _, code) = run(&m, &powershell_line(script));
    assert_eq!(out, "True\r\nFalse\r\n");
    assert_eq!(code, 1, "Set-Frob is not a cmdlet");
    // cmd keeps the space before `&`: the first line ends in one.
    run(&m, "echo line1> C:\\Work\\Sub\\f.txt & echo line2>> C:\\Work\\Sub\\f.txt");
    assert_eq!(run(&m, "powershell -c \"Get-Content C:/work/sub/f.txt\"").0, "line1 \r\nline2\r\n");
    assert_eq!(run(&m, "powershell -c \"Remove-Item C:\\work\\sub\\f.txt\"").2, 0);
    let (_, err, code) = run(&m, "powershell -c \"Remove-Item C:\\work\\sub\\f.txt\"");
    assert_eq!(code, 1);
    assert!(clean(&err).starts_with("Cannot find path 'C:\\work\\sub\\f.txt' because it does not exist.\n"), "{err}");
    assert_eq!(run(&m, "powershell -c \"Remove-Item C:\\gone -ErrorAction SilentlyContinue\"").1, "");
    let (out, _, _) = run(&m, "powershell -c \"New-Item -ItemType Directory C:\\Work\\New\"");
    assert!(out.contains("    Directory: C:\\Work\r\n") && out.contains("d-----"), "{out}");
    assert_eq!(run(&m, "powershell -c \"New-Item -ItemType Directory C:\\Work\\New\"").2, 1);
}
