//! How a simulator is set up: where it listens, how fast its clouds are,
//! whose keys they accept, what goes wrong, and what answers on the
//! simulated machines' SSH port, and how their WinRM endpoints behave.

use crate::clouds;
use crate::faults::FaultRule;
use crate::latency::Profile;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// What answers on a simulated machine's SSH port.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum SshMode {
    /// An embedded SSH server that accepts the machine's key pair or
    /// password, records every command and uploaded file, runs nothing and
    /// answers exit status 0.
    #[default]
    Builtin,
    /// Connections are forwarded to a real SSH server. When the machine
    /// starts, its key pair's public key is appended to `authorized_keys`
    /// (as cloud-init does on a real machine).
    Forward {
        /// The real server.
        to: SocketAddr,
        /// The real server's authorized_keys file, if the key pair should
        /// be installed there.
        #[serde(default)]
        authorized_keys: Option<PathBuf>,
    },
}

/// The simulated Windows machines' WinRM endpoints (`winrm` in a
/// `--config` file; every key may be left out).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WinrmSettings {
    /// `MaxEnvelopeSizekb`: the largest request a machine takes, KiB (a
    /// larger one is answered HTTP 413, as Windows does). 32 to 65536.
    pub max_envelope_size_kb: u32,
    /// The HTTP listeners' port on each machine address; 0 picks a free
    /// port per address (reached as port 5985 through
    /// `Simulator::endpoint`).
    pub http_port: u16,
    /// The HTTPS listeners' port; 0 picks a free one per address (port
    /// 5986 through `Simulator::endpoint`).
    pub https_port: u16,
    /// How many shells one user may have open on a machine. At least 1.
    pub max_shells_per_user: u32,
    /// A shell no request names for this long, seconds, is deleted when
    /// a shell is next made (Windows' `IdleTimeout`, 7200 s by default),
    /// so that clients that go away without a Delete do not use up
    /// `max_shells_per_user` for good. At least 1.
    pub idle_timeout_secs: u64,
    /// How long a machine whose command asked for a restart
    /// (`shutdown /r`, `Restart-Computer`) is down, seconds: its WinRM
    /// connections are refused meanwhile. Left out, the latency profile's
    /// ([`WinrmSettings::profile_restart_secs`]); 0 to
    /// [`WinrmSettings::MAX_RESTART_SECS`].
    pub restart_secs: Option<f64>,
}

/// Windows' defaults, shared by every endpoint (the hub, a standalone
/// machine) so that they are written once.
impl WinrmSettings {
    /// `MaxEnvelopeSizekb`'s default.
    pub const DEFAULT_MAX_ENVELOPE_SIZE_KB: u32 = 500;
    /// `MaxShellsPerUser`'s default.
    pub const DEFAULT_MAX_SHELLS_PER_USER: u32 = 30;
    /// `IdleTimeout`'s default, seconds.
    pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 7200;
    /// The longest restart `restart_secs` may ask for (a day): longer
    /// would only hide a mistyped value behind a build that never ends.
    pub const MAX_RESTART_SECS: f64 = 86_400.0;
    /// A restart of the fast profile, seconds: long enough that a client
    /// sees the machine gone, short enough for a quick CI run.
    pub const FAST_RESTART_SECS: f64 = 0.3;
    /// A restart of the realistic profile, seconds: what a small cloud
    /// Windows Server takes to reboot until WinRM answers again (not round,
    /// like the profile's other latencies).
    pub const REALISTIC_RESTART_SECS: f64 = 31.7;

    /// A restart's length under latency `profile` scaled by `scale` (as
    /// [`crate::latency::Latencies::of`] scales the clouds' transitions;
    /// a scale out of range is taken into it).
    pub fn profile_restart_secs(profile: Profile, scale: f64) -> f64 {
        let scale = if scale.is_nan() { 0.0 } else { scale.clamp(0.0, crate::latency::MAX_LATENCY_SCALE) };
        let secs = match profile {
            Profile::Instant => 0.0,
            Profile::Fast => Self::FAST_RESTART_SECS,
            Profile::Realistic => Self::REALISTIC_RESTART_SECS,
        };
        (secs * scale).min(Self::MAX_RESTART_SECS)
    }

    /// These settings with `restart_secs` filled in from `profile` and
    /// `scale` when it was left out: what the endpoints run with.
    pub fn for_profile(self, profile: Profile, scale: f64) -> WinrmSettings {
        let restart_secs = self.restart_secs.or_else(|| Some(Self::profile_restart_secs(profile, scale)));
        WinrmSettings { restart_secs, ..self }
    }

    /// How long a restart keeps the machine down: `restart_secs`, or the
    /// fast profile's when it was left out (settings not passed through
    /// [`WinrmSettings::for_profile`], as tests build them).
    pub fn restart(&self) -> std::time::Duration {
        let secs = self.restart_secs.unwrap_or(Self::FAST_RESTART_SECS);
        std::time::Duration::try_from_secs_f64(secs.clamp(0.0, Self::MAX_RESTART_SECS)).unwrap_or_default()
    }
}

/// Checks a restart's length in seconds: a number from 0 to
/// [`WinrmSettings::MAX_RESTART_SECS`].
///
/// Fails, saying the range, on a negative, non-finite or larger number.
pub fn check_restart_secs(secs: f64) -> Result<f64, String> {
    if (0.0..=WinrmSettings::MAX_RESTART_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(format!(
            "{} is not a restart's length: write seconds from 0 to {} (the fast profile takes {}, the realistic one {})",
            crate::numbers::readable(secs),
            WinrmSettings::MAX_RESTART_SECS,
            WinrmSettings::FAST_RESTART_SECS,
            WinrmSettings::REALISTIC_RESTART_SECS
        ))
    }
}

/// Reads a restart's length as a flag gives it (`--restart-secs`), then
/// [`check_restart_secs`]s it.
///
/// Fails on text that is not a number, or a number out of range.
pub fn parse_restart_secs(text: &str) -> Result<f64, String> {
    let secs = text
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("{text:?} is not a number of seconds; write it like 0.3 or 30"))?;
    check_restart_secs(secs)
}

impl Default for WinrmSettings {
    fn default() -> Self {
        WinrmSettings {
            max_envelope_size_kb: Self::DEFAULT_MAX_ENVELOPE_SIZE_KB,
            http_port: 0,
            https_port: 0,
            max_shells_per_user: Self::DEFAULT_MAX_SHELLS_PER_USER,
            idle_timeout_secs: Self::DEFAULT_IDLE_TIMEOUT_SECS,
            restart_secs: None,
        }
    }
}

impl WinrmSettings {
    /// The ports clients name for HTTP and HTTPS: `http_port` and
    /// `https_port`, with 0 read as Windows' own 5985 and 5986.
    pub fn effective_ports(&self) -> (u16, u16) {
        let or = |port: u16, default: u16| if port == 0 { default } else { port };
        (or(self.http_port, crate::winrm::HTTP_PORT), or(self.https_port, crate::winrm::HTTPS_PORT))
    }

    /// Checks its ranges.
    ///
    /// Fails with the bad field's name (below `winrm.`) and what to write.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, message: String| ConfigError { field: format!("winrm.{field}"), message };
        if !(32..=65536).contains(&self.max_envelope_size_kb) {
            return Err(bad(
                "max_envelope_size_kb",
                format!(
                    "{} is out of range; write a size in KiB from 32 to 65536 (Windows' default is 500)",
                    self.max_envelope_size_kb
                ),
            ));
        }
        if self.max_shells_per_user == 0 {
            return Err(bad(
                "max_shells_per_user",
                "0 would refuse every shell; write at least 1 (Windows' default is 30)".into(),
            ));
        }
        if self.idle_timeout_secs == 0 {
            return Err(bad(
                "idle_timeout_secs",
                "0 would reap every shell at once; write at least 1 second (Windows' default is 7200)".into(),
            ));
        }
        if let Some(secs) = self.restart_secs {
            check_restart_secs(secs).map_err(|message| bad("restart_secs", message))?;
        }
        // 0 is reached as Windows' own port, so 5986 with 0 collides too.
        let (http, https) = self.effective_ports();
        if http == https {
            return Err(bad(
                "https_port",
                format!(
                    "{} makes HTTPS answer on port {https}, as HTTP does (http_port {}, where 0 means 5985 and https_port 0 means 5986); give each its own port",
                    self.https_port, self.http_port
                ),
            ));
        }
        Ok(())
    }
}

/// A simulator's configuration; also the format of `kiln sim serve --config`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the API (and proxy) listener.
    pub listen: SocketAddr,
    /// Latency profile.
    pub profile: Profile,
    /// Multiplies every latency of the profile.
    pub latency_scale: f64,
    /// Each cloud's own settings (the keys it accepts).
    pub clouds: clouds::Settings,
    /// Fault rules in force from the start.
    pub faults: Vec<FaultRule>,
    /// Seed of the generator behind probabilistic faults.
    pub seed: u64,
    /// What answers on the machines' SSH port.
    pub ssh: SshMode,
    /// The port the machines' SSH endpoints listen on, on each machine's
    /// own loopback address; 0 picks a free port per address (only kiln's
    /// in-process use can follow that).
    pub ssh_port: u16,
    /// The Windows machines' WinRM endpoints.
    pub winrm: WinrmSettings,
    /// Refuse requests whose timestamp is more than 15 minutes off, and
    /// nonces seen in the last 15 minutes, as the real APIs do.
    pub check_replay: bool,
}

/// A configuration value out of range, and where.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The field's path, e.g. `faults[1]` or `latency_scale`.
    pub field: String,
    /// What is wrong with it and what to write.
    pub message: String,
}

/// Why a `--config` file's text is not a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// Not JSON, or not the shape of a [`Config`].
    #[error("{0}")]
    Malformed(#[from] serde_json::Error),
    /// JSON, but not an object (`[]` would otherwise read as every default).
    #[error("it holds {0}, not an object; write the settings as {{\"listen\": \"127.0.0.1:8700\", ...}}")]
    NotAnObject(&'static str),
    /// A value out of range.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

impl Config {
    /// Reads a `--config` file's text, and [`Config::check`]s it.
    ///
    /// Fails when it is not JSON, not an object, has an unknown key or a
    /// value of the wrong kind, or a value out of range.
    pub fn from_json(text: &str) -> Result<Config, ConfigFileError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let kind = match &value {
            serde_json::Value::Object(_) => None,
            serde_json::Value::Array(_) => Some("an array"),
            serde_json::Value::String(_) => Some("a string"),
            serde_json::Value::Number(_) => Some("a number"),
            serde_json::Value::Bool(_) => Some("a boolean"),
            serde_json::Value::Null => Some("null"),
        };
        if let Some(kind) = kind {
            return Err(ConfigFileError::NotAnObject(kind));
        }
        let config: Config = serde_json::from_value(value)?;
        config.check()?;
        Ok(config)
    }

    /// Checks every value a file, a flag or a caller may have put out of
    /// range: the latency scale, each fault rule (its action one a
    /// simulated cloud answers) and each cloud's settings (no empty key).
    ///
    /// Fails with the first bad field's path and what is wrong.
    pub fn check(&self) -> Result<(), ConfigError> {
        crate::latency::check_scale(self.latency_scale)
            .map_err(|message| ConfigError { field: "latency_scale".into(), message })?;
        let actions = clouds::actions();
        for (i, rule) in self.faults.iter().enumerate() {
            rule.check()
                .and_then(|()| rule.check_action(&actions))
                .map_err(|message| ConfigError { field: format!("faults[{i}]"), message })?;
        }
        self.clouds.check().map_err(|e| ConfigError { field: format!("clouds.{}", e.field), message: e.message })?;
        self.winrm.check()?;
        if let SshMode::Forward { authorized_keys: Some(file), .. } = &self.ssh {
            check_authorized_keys(file).map_err(|why| ConfigError {
                field: "ssh.authorized_keys".into(),
                message: format!("{}: {why}", file.display()),
            })?;
        }
        Ok(())
    }
}

/// Checks, before a simulator starts, that `file` can be the forward
/// target's authorized_keys, where started machines' keys are appended: an
/// existing regular file that can be opened for appending, or one that can
/// be created (it is not left behind).
///
/// Fails saying why: a directory or another kind of file, no permission,
/// a missing directory.
pub fn check_authorized_keys(file: &std::path::Path) -> Result<(), String> {
    let name = "name the real SSH server's authorized_keys file (e.g. ~/.ssh/authorized_keys)";
    match std::fs::metadata(file) {
        Ok(meta) if meta.is_file() => {
            std::fs::OpenOptions::new().append(true).open(file).map(drop).map_err(|e| format!("{e}"))
        }
        Ok(meta) if meta.is_dir() => Err(format!("it is a directory; {name}")),
        Ok(_) => Err(format!("it is not a regular file; {name}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::OpenOptions::new().append(true).create_new(true).open(file).map_err(|e| format!("{e}"))?;
            let _ = std::fs::remove_file(file);
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Reads a fault rule as a flag gives it (`--fault`, `--sim-fault`):
/// [`FaultRule`]'s text form, its action one a simulated cloud answers.
///
/// Fails on a rule that does not parse, has a value out of range, or
/// names an action no cloud answers (with the closest one).
pub fn parse_fault_rule(text: &str) -> Result<FaultRule, String> {
    let rule: FaultRule = text.parse()?;
    rule.check_action(&clouds::actions())?;
    Ok(rule)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            profile: Profile::Fast,
            latency_scale: 1.0,
            clouds: clouds::Settings::default(),
            faults: Vec::new(),
            seed: 1,
            ssh: SshMode::Builtin,
            ssh_port: 0,
            winrm: WinrmSettings::default(),
            check_replay: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_with_values_out_of_range_names_the_field() {
        let config: Config = serde_json::from_str(r#"{"latency_scale": -2}"#).unwrap();
        assert_eq!(config.check().unwrap_err().field, "latency_scale");
        let config: Config = serde_json::from_str(
            r#"{"faults": [{"action": "CreateVpc", "kind": "reset"}, {"action": "*", "kind": "reset", "probability": 7}]}"#,
        )
        .unwrap();
        let error = config.check().unwrap_err();
        assert_eq!(error.field, "faults[1]");
        assert!(error.message.contains("p=7"), "{error}");
        assert_eq!(Config::default().check(), Ok(()));
    }

    #[test]
    fn a_config_file_must_be_an_object_with_known_actions_and_keys() {
        for (text, said) in [
            ("[]", "it holds an array, not an object"),
            ("null", "it holds null, not an object"),
            (r#"{"faults": [{"action": "CreatVpc", "kind": "reset"}]}"#, "faults[0]: no simulated cloud answers"),
            (
                r#"{"clouds": {"alicloud": {"credentials": [{"access_key_id": "", "access_key_secret": "s"}]}}}"#,
                "clouds.alicloud.credentials[0].access_key_id: ",
            ),
        ] {
            let error = Config::from_json(text).unwrap_err().to_string();
            assert!(error.contains(said), "{text}: {error}");
        }
        assert!(Config::from_json("{}").is_ok());
        for (text, field) in [
            (r#"{"winrm": {"max_envelope_size_kb": 8}}"#, "winrm.max_envelope_size_kb"),
            (r#"{"winrm": {"max_shells_per_user": 0}}"#, "winrm.max_shells_per_user"),
            (r#"{"winrm": {"http_port": 5985, "https_port": 5985}}"#, "winrm.https_port"),
            (r#"{"winrm": {"http_port": 5986}}"#, "winrm.https_port"),
            (r#"{"winrm": {"https_port": 5985}}"#, "winrm.https_port"),
            (r#"{"winrm": {"idle_timeout_secs": 0}}"#, "winrm.idle_timeout_secs"),
            (r#"{"winrm": {"restart_secs": -1}}"#, "winrm.restart_secs"),
            (r#"{"winrm": {"restart_secs": 1e6}}"#, "winrm.restart_secs"),
        ] {
            let error = Config::from_json(text).unwrap_err().to_string();
            assert!(error.starts_with(&format!("{field}: ")), "{text}: {error}");
        }
        let config = Config::from_json(r#"{"winrm": {"http_port": 15985}}"#).unwrap();
        assert_eq!((config.winrm.http_port, config.winrm.max_envelope_size_kb), (15985, 500));
        assert!(Config::from_json(r#"{"winrm": {"max_envelope": 1}}"#).is_err());
        assert!(parse_fault_rule("CreatVpc:reset").unwrap_err().contains("did you mean \"CreateVpc\"?"));
        assert!(parse_fault_rule("CreateVpc:reset").is_ok());
    }

    #[test]
    fn a_restart_lasts_what_the_settings_say_or_the_profile_scaled() {
        let default = WinrmSettings::default();
        assert_eq!(default.restart_secs, None);
        assert_eq!(default.for_profile(Profile::Fast, 1.0).restart(), std::time::Duration::from_millis(300));
        assert_eq!(default.for_profile(Profile::Instant, 1.0).restart(), std::time::Duration::ZERO);
        assert_eq!(default.for_profile(Profile::Realistic, 2.0).restart_secs, Some(63.4));
        let given = WinrmSettings { restart_secs: Some(5.0), ..default };
        assert_eq!(given.for_profile(Profile::Realistic, 2.0).restart(), std::time::Duration::from_secs(5));
        assert_eq!(default.restart(), std::time::Duration::from_millis(300), "unresolved settings restart as fast");
        assert_eq!(Config::from_json(r#"{"winrm": {"restart_secs": 2.5}}"#).unwrap().winrm.restart_secs, Some(2.5));
        assert_eq!(parse_restart_secs(" 30 "), Ok(30.0));
        for bad in ["-0.5", "inf", "NaN", "x", "100000"] {
            assert!(parse_restart_secs(bad).is_err(), "{bad}");
        }
    }
}
