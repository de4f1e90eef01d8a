//! Restarts, shutdowns and boots, on a clock the tests move.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

/// A machine on a hand-moved clock standing at 2020-12-09T00:00:00Z.
fn machine_on_clock() -> (Arc<WindowsMachine>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_607_472_000)));
    (WindowsMachine::with_clock("win-sim", "kiln", clock.clone()), clock)
}

/// kiln's `boot` script as kiln sends it (header only).
fn boot_line() -> String {
    powershell_line("# kiln:boot 1\n\n$ProgressPreference = 'SilentlyContinue'\nexit 99\n")
}

#[test]
fn a_restart_is_requested_then_taken_once() {
    let (m, _) = machine_on_clock();
    assert_eq!(run(&m, "shutdown /r /f /t 0 /c \"packer restart\""), (String::new(), String::new(), 0));
    assert!(m.power_pending());
    assert_eq!(m.take_power_request(), Some(PowerRequest::Restart));
    assert_eq!(m.take_power_request(), None);
    assert!(!m.power_pending());
}

#[test]
fn packers_probe_is_aborted_within_its_delay() {
    let (m, clock) = machine_on_clock();
    assert_eq!(run(&m, "shutdown /r /f /t 60 /c \"packer restart test\"").2, 0);
    clock.advance(Duration::from_secs(59));
    assert_eq!(m.take_power_request(), None, "not due for 60 s");
    let again = run(&m, "shutdown /r /f /t 0 /c \"packer restart\"");
    assert_eq!(again, (String::new(), "A system shutdown has already been scheduled.(1190)\r\n".into(), 1190));
    assert_eq!(run(&m, "shutdown /a"), (String::new(), String::new(), 0));
    assert!(!m.power_pending());
    clock.advance(Duration::from_secs(5));
    assert_eq!(m.take_power_request(), None);
    let none = "Unable to abort the system shutdown because no shutdown was in progress.(1116)\r\n";
    assert_eq!(run(&m, "shutdown /a"), (String::new(), none.into(), 1116));
}

#[test]
fn a_delayed_shutdown_comes_due_and_cannot_be_aborted_then() {
    let (m, clock) = machine_on_clock();
    assert_eq!(run(&m, "shutdown -s -t 10").2, 0);
    clock.advance(Duration::from_secs(10));
    assert_eq!(run(&m, "shutdown /a"), (String::new(), "A system shutdown is in progress.(1115)\r\n".into(), 1115));
    assert_eq!(run(&m, "shutdown /r /t 0").2, 1115);
    assert_eq!(m.take_power_request(), Some(PowerRequest::Shutdown));
    // Without /t: 30 s, as shutdown.exe waits.
    assert_eq!(run(&m, "shutdown /r").2, 0);
    clock.advance(Duration::from_secs(29));
    assert_eq!(m.take_power_request(), None);
    clock.advance(Duration::from_secs(1));
    assert_eq!(m.take_power_request(), Some(PowerRequest::Restart));
    assert_eq!(run(&m, "shutdown /r /t soon"), (String::new(), "The parameter is incorrect.(87)\r\n".into(), 87));
}

#[test]
fn sysprep_shuts_down_only_with_its_shutdown_option() {
    let (m, _) = machine_on_clock();
    for line in [
        "C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown /quiet",
        "cmd /c %WINDIR%\\system32\\sysprep\\Sysprep.exe /oobe /generalize /quiet /shutdown",
        &powershell_line("& $env:SystemRoot\\System32\\Sysprep\\Sysprep.exe /oobe /generalize /quiet /shutdown"),
        &powershell_line("& 'C:/Windows/System32/Sysprep/sysprep.exe' /generalize /shutdown"),
    ] {
        assert_eq!(run(&m, line), (String::new(), String::new(), 0), "{line}");
        assert_eq!(m.take_power_request(), Some(PowerRequest::Shutdown), "{line}");
    }
    for line in [
        "C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /quit",
        "c:/windows/system32/sysprep/sysprep /oobe",
    ] {
        assert_eq!(run(&m, line).2, 0, "{line}");
        assert!(!m.power_pending(), "{line}");
    }
    assert_eq!(run(&m, "C:\\Windows\\System32\\Sysprep\\sysprep.exe /oobe /reboot").2, 0);
    assert_eq!(m.take_power_request(), Some(PowerRequest::Restart));
}

#[test]
fn powershell_asks_for_restarts_and_shutdowns_too() {
    let (m, _) = machine_on_clock();
    assert_eq!(run(&m, &powershell_line("Restart-Computer -Force")), (String::new(), String::new(), 0));
    let (_, err, code) = run(&m, &powershell_line("Restart-Computer -Force"));
    assert_eq!(code, 1);
    assert!(err.contains("Failed to restart the computer win-sim with the following error message: A system shutdown"));
    assert_eq!(m.take_power_request(), Some(PowerRequest::Restart));
    assert_eq!(run(&m, &powershell_line("Stop-Computer")).2, 0);
    assert_eq!(m.take_power_request(), Some(PowerRequest::Shutdown));
    // shutdown.exe from PowerShell: its exit code in $LASTEXITCODE.
    let (out, _, code) =
        run(&m, &powershell_line("shutdown /a; Write-Output \"abort: $LASTEXITCODE\"; exit $LASTEXITCODE"));
    assert_eq!((out.as_str(), code), ("abort: 1116\r\n", 1116));
}

#[test]
fn boots_move_the_boot_time_that_scripts_print() {
    let (m, clock) = machine_on_clock();
    assert_eq!(m.boots(), 1);
    let first = m.boot_time_ticks();
    assert_eq!(first, 637_430_688_000_000_000);
    assert_eq!(run(&m, &boot_line()), (format!("{first}\r\n"), String::new(), 0));
    let cim = "(Get-CimInstance Win32_OperatingSystem).LastBootUpTime";
    assert_eq!(run(&m, &powershell_line(&format!("{cim}.ToUniversalTime().Ticks"))).0, format!("{first}\r\n"));
    assert_eq!(run(&m, &powershell_line(cim)).0, "Wednesday, December 9, 2020 12:00:00 AM\r\n");
    let wmi = "$b = (Get-WmiObject Win32_OperatingSystem).LastBootUpTime; Write-Output \"up since $b\"";
    assert_eq!(run(&m, &powershell_line(wmi)).0, "up since 20201209000000.000000+000\r\n");
    assert_eq!(run(&m, "shutdown /r /t 0").2, 0);
    assert_eq!(m.take_power_request(), Some(PowerRequest::Restart));
    clock.advance(Duration::from_millis(300));
    m.booted();
    assert_eq!(m.boots(), 2);
    assert_eq!(m.boot_time_ticks(), first + 3_000_000);
    assert_eq!(run(&m, &boot_line()).0, format!("{}\r\n", first + 3_000_000));
    // kiln's default restart_check_command.
    let check = run(&m, "powershell -command \"& {Write-Output 'restarted.'}\"");
    assert_eq!(check, ("restarted.\r\n".into(), String::new(), 0));
    // On the host's clock, a machine made now booted now.
    let before = ticks(SystemTime::now());
    assert!(machine().boot_time_ticks() >= before);
}
