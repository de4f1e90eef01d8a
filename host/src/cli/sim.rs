//! `kiln sim serve`: the built-in cloud simulator on its own, for other
//! tools (the clouds' SDKs, Packer through `HTTP_PROXY`) or for a kiln
//! run pointed at it with a builder's custom endpoint. `kiln sim winrm`:
//! one simulated Windows machine, for WinRM templates and clients. Without the
//! `simulator` cargo feature, `kiln sim` says how to get a kiln that has
//! it.

use super::Exit;
#[cfg(not(feature = "simulator"))]
pub use off::{Command, exec};
#[cfg(feature = "simulator")]
pub use on::{Command, exec};

#[cfg(feature = "simulator")]
mod on {
    use super::Exit;
    use crate::caps::secrets::Redactor;
    use crate::ui::Ui;
    use crate::ui::output::{self, Stream};
    use anyhow::Context;
    use clap::builder::NonEmptyStringValueParser;
    use kiln_sim::faults::FaultRule;
    use kiln_sim::latency::Profile;
    use kiln_sim::{Config, Simulator, SshMode, StartError, Warnings, WinrmSettings};
    use std::net::SocketAddr;
    use std::path::PathBuf;

    /// `kiln sim` subcommands.
    #[derive(Debug, clap::Subcommand)]
    pub enum Command {
        /// Serve the simulated clouds until interrupted.
        #[command(after_long_help = serve_defaults())]
        Serve(ServeArgs),
        /// Serve one simulated Windows machine over WinRM until
        /// interrupted, to try WinRM templates and clients on.
        Winrm(WinrmArgs),
    }

    /// The password `kiln sim winrm` accepts when given none.
    const DEFAULT_WINRM_PASSWORD: &str = "kiln";

    /// Arguments of `kiln sim winrm`.
    #[derive(Debug, clap::Args)]
    pub struct WinrmArgs {
        /// Address of its WinRM listener (port 0 picks a free one).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5985")]
        pub listen: SocketAddr,
        /// HTTPS with a certificate generated at start (clients must accept
        /// it: `winrm_insecure`), instead of HTTP.
        #[arg(long)]
        pub https: bool,
        /// The user it accepts.
        #[arg(long, value_name = "NAME", default_value = "Administrator", value_parser = NonEmptyStringValueParser::new())]
        pub username: String,
        /// The user's password (never printed).
        #[arg(long, env = "KILN_SIM_WINRM_PASSWORD", hide_env_values = true, default_value = DEFAULT_WINRM_PASSWORD,
              value_parser = NonEmptyStringValueParser::new())]
        pub password: String,
        /// The largest request it takes, in KB (MaxEnvelopeSizekb; Windows
        /// takes 500 by default, 150 at least).
        #[arg(long, value_name = "KB", default_value_t = 500, value_parser = clap::value_parser!(u32).range(32..=65536))]
        pub max_envelope_size_kb: u32,
        /// How long a restart a command asks for (`shutdown /r`) keeps the
        /// machine down, in seconds (0 to 86400; its connections are
        /// refused meanwhile). A shutdown (`sysprep /shutdown`) is for good.
        #[arg(long, value_name = "SECS", default_value_t = kiln_sim::WinrmSettings::FAST_RESTART_SECS,
              value_parser = kiln_sim::config::parse_restart_secs)]
        pub restart_secs: f64,
        /// Also take NTLM (the Negotiate scheme, `winrm_use_ntlm`), and,
        /// as Windows in its default configuration, over plain HTTP only
        /// with MS-WSMV message encryption: Basic logins and unencrypted
        /// bodies are refused (HTTP 401) unless --allow-unencrypted.
        #[arg(long)]
        pub ntlm: bool,
        /// With --ntlm: WinRM's AllowUnencrypted, so plain HTTP also takes
        /// Basic logins and NTLM logins with unencrypted bodies (Packer's
        /// winrm_use_ntlm). Without --ntlm it is always on.
        #[arg(long)]
        pub allow_unencrypted: bool,
    }

    /// The end of `kiln sim serve --help`: what the simulator does when no
    /// flag says otherwise, and its admin routes. Built from the
    /// simulator's own constants, so that it cannot drift from them.
    fn serve_defaults() -> String {
        use kiln_sim::alicloud::{catalog, credentials};
        let regions: Vec<&str> = catalog::REGIONS.iter().map(|r| r.id).collect();
        format!(
            "Defaults (without --config):\n  \
             listen:        127.0.0.1:8700 (the APIs; also an HTTP proxy for clients that cannot change endpoints)\n  \
             profile:       fast (a fraction of a second per operation), --latency-scale 1, seed 1, no fault rules\n  \
             machines' SSH: the built-in recorder (accepts the machine's key pair or password, records commands\n                 \
             and files, runs nothing) on port 22 of each machine's own address (needs root; --ssh-port 0 picks one)\n  \
             machines' WinRM: a simulated Windows machine (Basic authentication as Administrator with the instance's\n                 \
             password; cmd and PowerShell subsets, file transfers) on ports 5985 (HTTP) and 5986 (HTTPS) of each\n                 \
             Windows machine's address; a restart one of its commands asks for keeps it down for the\n                 \
             profile's restart time (fast {fast} s, realistic {realistic} s; --restart-secs), a shutdown stops it\n  \
             Alibaba Cloud: accepts the access key {id} with the secret {secret}\n                 \
             (--access-key and --secret-key replace it); machines' addresses in 127.1.0.0/16;\n                 \
             regions {regions}\n\
             A --config file is the JSON form of these settings; what it leaves out takes the library's defaults\n\
             (listen on 127.0.0.1:0, a free port, and SSH and WinRM on free ports per machine), and the flags override it.\n\n\
             Fault kinds: server-error (HTTP 500), unavailable (503), throttling, reset, timeout (no answer for\n\
             delay, default 120 s), slow (answer after delay, default 2 s), image-fails, denied (403), lost (the\n\
             call takes effect, the answer never arrives). Options (each at most once): nth=N (only the Nth\n\
             matching call), p=P (each call with probability P), times=N (at most N times), delay=MS. ACTION is *\n\
             or an action a simulated cloud answers (CreateVpc, DescribeInstances…); another name is refused.\n\n\
             Admin API (JSON): GET /__kiln/ lists the routes with a line each: health, resources, requests\n\
             (?action=NAME), counts, faults (GET, POST a rule, DELETE all), reset (POST), and one per machine\n\
             endpoint (ssh: what the built-in recorder saw; winrm: the Windows machines' requests and files).",
            id = credentials::DEFAULT_ACCESS_KEY_ID,
            secret = credentials::DEFAULT_ACCESS_KEY_SECRET,
            regions = regions.join(", "),
            fast = kiln_sim::WinrmSettings::FAST_RESTART_SECS,
            realistic = kiln_sim::WinrmSettings::REALISTIC_RESTART_SECS,
        )
    }

    /// Arguments of `kiln sim serve`.
    #[derive(Debug, clap::Args)]
    pub struct ServeArgs {
        /// A JSON configuration file (the flags below override it).
        #[arg(long, value_name = "FILE")]
        pub config: Option<PathBuf>,
        /// Address to listen on for the APIs and as an HTTP proxy.
        #[arg(long, value_name = "ADDR")]
        pub listen: Option<SocketAddr>,
        /// Latency profile: instant, fast (the default) or realistic.
        #[arg(long)]
        pub profile: Option<Profile>,
        /// Multiply every latency by this factor (0 to 1000).
        #[arg(long, value_name = "FACTOR", value_parser = kiln_sim::latency::parse_scale)]
        pub latency_scale: Option<f64>,
        /// A fault rule, `ACTION:KIND[:nth=N][:p=P][:times=N][:delay=MS]`
        /// (repeatable; ACTION may be `*`; kinds below).
        #[arg(long = "fault", value_name = "RULE", value_parser = kiln_sim::config::parse_fault_rule)]
        pub faults: Vec<FaultRule>,
        /// Seed for probabilistic faults (default 1: the same run fails the
        /// same way).
        #[arg(long)]
        pub seed: Option<u64>,
        /// Access key id to accept (with --secret-key) instead of the
        /// default one (see below).
        #[arg(long, requires = "secret_key", value_parser = NonEmptyStringValueParser::new())]
        pub access_key: Option<String>,
        /// The secret of --access-key (never printed).
        #[arg(long, requires = "access_key", value_parser = NonEmptyStringValueParser::new())]
        pub secret_key: Option<String>,
        /// Make --access-key an STS key that needs this SecurityToken
        /// (never printed).
        #[arg(long, requires = "access_key", value_parser = NonEmptyStringValueParser::new())]
        pub security_token: Option<String>,
        /// Port of the machines' SSH endpoints on their own loopback
        /// addresses (22 needs root; 0 picks one per machine).
        #[arg(long, value_name = "PORT")]
        pub ssh_port: Option<u16>,
        /// Forward the machines' SSH to this real server instead of the
        /// built-in recorder.
        #[arg(long, value_name = "ADDR")]
        pub ssh_forward: Option<SocketAddr>,
        /// With --ssh-forward: the real server's authorized_keys, where each
        /// started machine's key pair is installed.
        #[arg(long, value_name = "FILE", requires = "ssh_forward")]
        pub authorized_keys: Option<PathBuf>,
        /// How long a Windows machine whose command asks for a restart
        /// (`shutdown /r`) is down, in seconds (0 to 86400); by default the
        /// profile's, times --latency-scale (see below).
        #[arg(long, value_name = "SECS", value_parser = kiln_sim::config::parse_restart_secs)]
        pub restart_secs: Option<f64>,
    }

    impl ServeArgs {
        /// The simulator configuration these arguments describe, its
        /// secrets (the flags' and the file's) registered with `redactor`
        /// so that nothing `kiln sim serve` prints shows them. Fails,
        /// naming the file, when `--config` cannot be read, is not a
        /// configuration, or has a value out of range (with its field);
        /// naming the flag when `--authorized-keys` cannot take the
        /// machines' keys.
        pub fn config(&self, redactor: &Redactor) -> anyhow::Result<Config> {
            for secret in [&self.secret_key, &self.security_token].into_iter().flatten() {
                redactor.add(secret);
            }
            let mut config = match &self.config {
                Some(path) => {
                    let text =
                        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
                    let config = Config::from_json(&text)
                        .with_context(|| format!("{} is not a valid simulator configuration", path.display()))?;
                    for key in &config.clouds.alicloud.credentials {
                        redactor.add(&key.access_key_secret);
                        redactor.add(key.security_token.as_deref().unwrap_or_default());
                    }
                    config
                }
                None => Config {
                    listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
                    ssh_port: 22,
                    // Windows' own ports: each machine has its own address,
                    // so no two listeners share one.
                    winrm: WinrmSettings {
                        http_port: kiln_sim::winrm::HTTP_PORT,
                        https_port: kiln_sim::winrm::HTTPS_PORT,
                        ..WinrmSettings::default()
                    },
                    ..Config::default()
                },
            };
            if let Some(listen) = self.listen {
                config.listen = listen;
            }
            if let Some(profile) = self.profile {
                config.profile = profile;
            }
            if let Some(scale) = self.latency_scale {
                config.latency_scale = scale;
            }
            config.faults.extend(self.faults.iter().cloned());
            if let Some(seed) = self.seed {
                config.seed = seed;
            }
            if let (Some(id), Some(secret)) = (&self.access_key, &self.secret_key) {
                config.clouds.accept_key(id, secret, self.security_token.as_deref());
            }
            if let Some(port) = self.ssh_port {
                config.ssh_port = port;
            }
            if let Some(secs) = self.restart_secs {
                config.winrm.restart_secs = Some(secs);
            }
            if let Some(to) = self.ssh_forward {
                if let Some(file) = &self.authorized_keys {
                    kiln_sim::config::check_authorized_keys(file)
                        .map_err(|why| anyhow::anyhow!("--authorized-keys {}: {why}", file.display()))?;
                }
                config.ssh = SshMode::Forward { to, authorized_keys: self.authorized_keys.clone() };
            }
            Ok(config)
        }

        /// Why the simulator could not start, naming where its listen
        /// address came from (`--listen`, the `--config` file, the default).
        fn start_error(&self, error: StartError) -> anyhow::Error {
            let StartError::Listen { address, source } = &error else {
                return anyhow::anyhow!("cannot start the simulator: {error}");
            };
            match (&self.listen, &self.config) {
                (Some(_), _) => anyhow::anyhow!("--listen {address}: cannot listen there ({source})"),
                (None, Some(file)) => anyhow::anyhow!(
                    "{}: listen {address}: cannot listen there ({source}); --listen ADDR overrides it",
                    file.display()
                ),
                (None, None) => anyhow::anyhow!(
                    "cannot listen on {address}, the default ({source}); pick another address with --listen ADDR"
                ),
            }
        }
    }

    /// Runs `kiln sim`; what it prints goes through `ui`'s redactor, and
    /// the simulator's warnings through `ui`'s.
    pub async fn exec(command: Command, ui: Ui) -> anyhow::Result<Exit> {
        let args = match command {
            Command::Serve(args) => args,
            Command::Winrm(args) => return winrm(args, ui).await,
        };
        let redactor = ui.redactor().clone();
        // A configuration file that does not read is bad usage, as a bad
        // flag is.
        let config = match args.config(&redactor) {
            Ok(config) => config,
            Err(e) => {
                output::write(Stream::Stderr, &redactor.redact(&format!("Error: {e:#}\n")));
                return Ok(Exit::Invalid);
            }
        };
        let ssh_port = config.ssh_port;
        let winrm_ports = (config.winrm.http_port, config.winrm.https_port);
        let warnings = Warnings::to({
            let ui = ui.clone();
            move |text| ui.warn(text)
        });
        let sim = Simulator::start(config, warnings).await.map_err(|e| args.start_error(e))?;
        let address = sim.address();
        let mut banner = format!("kiln-sim listening on http://{address} (APIs, HTTP proxy, admin under /__kiln/)\n");
        for line in sim.banner() {
            banner.push_str(&format!("  {line}\n"));
        }
        banner.push_str(&match ssh_port {
            0 => "  machines:   SSH on a random port of each machine's 127.x address\n".to_string(),
            p => format!("  machines:   SSH on port {p} of each machine's 127.x address\n"),
        });
        banner.push_str(&match winrm_ports {
            (0, 0) => "  Windows:    WinRM on random ports of each Windows machine's 127.x address\n".to_string(),
            (http, https) => format!(
                "  Windows:    WinRM on ports {http} (HTTP) and {https} (HTTPS) of each Windows machine's 127.x address\n"
            ),
        });
        output::write(Stream::Stdout, &redactor.redact(&banner));
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        Ok(Exit::Success)
    }

    /// Runs `kiln sim winrm`: one simulated Windows machine until Ctrl-C.
    async fn winrm(args: WinrmArgs, ui: Ui) -> anyhow::Result<Exit> {
        use kiln_sim::winrm::{Auth, Standalone, StandaloneConfig};
        let redactor = ui.redactor().clone();
        // The default is documented, so no secret (and hiding it would
        // hide "kiln" in every line).
        if args.password != DEFAULT_WINRM_PASSWORD {
            redactor.add(&args.password);
        }
        let config = StandaloneConfig {
            listen: args.listen,
            https: args.https,
            username: args.username.clone(),
            password: args.password.clone(),
            max_envelope_size_kb: args.max_envelope_size_kb,
            drop_after_stdin_bytes: None,
            restart: std::time::Duration::from_secs_f64(args.restart_secs),
            auth: if args.ntlm { Auth::Both } else { Auth::Basic },
            allow_unencrypted: !args.ntlm || args.allow_unencrypted,
        };
        let machine = match Standalone::start(config).await {
            Ok(machine) => machine,
            Err(e) => {
                let text = format!("Error: --listen {}: cannot listen there ({e})\n", args.listen);
                output::write(Stream::Stderr, &redactor.redact(&text));
                return Ok(Exit::Invalid);
            }
        };
        let address = machine.address();
        let scheme = if args.https { "https" } else { "http" };
        let banner = format!(
            "kiln-sim Windows machine listening on {scheme}://{address}/wsman (WinRM, {auth})\n  \
             user:     {user} with the password of --password{default}\n  \
             envelope: MaxEnvelopeSizekb {kb}\n  \
             restart:  {restart} s down (connections refused); a shutdown is for good\n  \
             records:  GET http://{address}/__kiln/winrm (requests, counts, files, boots, power, tasks)\n",
            user = args.username,
            default = if args.password == DEFAULT_WINRM_PASSWORD { " (default: kiln)" } else { "" },
            kb = args.max_envelope_size_kb,
            restart = args.restart_secs,
            auth = match (args.ntlm, args.allow_unencrypted) {
                (false, _) => "Basic authentication",
                (true, true) => "Basic or NTLM authentication, unencrypted bodies allowed",
                (true, false) => "NTLM with message encryption; Basic over HTTPS only",
            },
        );
        output::write(Stream::Stdout, &redactor.redact(&banner));
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        machine.stop();
        Ok(Exit::Success)
    }
}

#[cfg(all(test, feature = "simulator"))]
mod tests {
    use super::on::Command;
    use crate::caps::secrets::Redactor;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("kiln-sim").chain(args.iter().copied())).map(|c| c.command)
    }

    #[test]
    fn restart_secs_sets_how_long_a_restart_keeps_a_windows_machine_down() {
        let Ok(Command::Serve(args)) = parse(&["serve", "--restart-secs", "2.5"]) else { panic!("serve parses") };
        assert_eq!(args.config(&Redactor::default()).unwrap().winrm.restart_secs, Some(2.5));
        let Ok(Command::Serve(args)) = parse(&["serve"]) else { panic!("serve parses") };
        assert_eq!(args.config(&Redactor::default()).unwrap().winrm.restart_secs, None, "the profile's");
        let Ok(Command::Winrm(args)) = parse(&["winrm", "--restart-secs", "0"]) else { panic!("winrm parses") };
        assert_eq!(args.restart_secs, 0.0);
        let Ok(Command::Winrm(args)) = parse(&["winrm"]) else { panic!("winrm parses") };
        assert_eq!(args.restart_secs, kiln_sim::WinrmSettings::FAST_RESTART_SECS);
        for bad in ["-1", "1e9", "soon"] {
            let error = parse(&["winrm", &format!("--restart-secs={bad}")]).unwrap_err().to_string();
            assert!(error.contains("--restart-secs"), "{bad}: {error}");
        }
    }
}

#[cfg(not(feature = "simulator"))]
mod off {
    use super::Exit;
    use crate::cli::simulate::WITHOUT_SIMULATOR;
    use crate::ui::Ui;
    use crate::ui::output::{self, Stream};

    /// `kiln sim` subcommands.
    #[derive(Debug, clap::Subcommand)]
    pub enum Command {
        /// Serve the simulated clouds until interrupted (not in this kiln:
        /// it was built without the simulator).
        Serve(ServeArgs),
        /// Serve a simulated Windows machine until interrupted (not in this
        /// kiln: it was built without the simulator).
        Winrm(ServeArgs),
    }

    /// Arguments of `kiln sim serve`, unread in this kiln.
    #[derive(Debug, clap::Args)]
    pub struct ServeArgs {
        /// The flags of a kiln built with the simulator.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        pub args: Vec<String>,
    }

    /// Says this kiln has no simulator to serve: bad usage.
    pub async fn exec(_: Command, _: Ui) -> anyhow::Result<Exit> {
        output::write(Stream::Stderr, &format!("Error: kiln sim: {WITHOUT_SIMULATOR}\n"));
        Ok(Exit::Invalid)
    }
}
