//! CLI dispatch only; the work lives in the library modules.

use std::process::ExitCode;

use zatan::cli::{self, Cli, USAGE};
use zatan::cmd::{serve, Failure};
use zatan::config::Config;
use zatan::logging;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match cli::parse(&args) {
        Ok(command) => run(command),
        Err(usage) => Err(Failure::config(usage.0)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("zatan: {}", failure.message);
            ExitCode::from(failure.code as u8)
        }
    }
}

fn run(command: Cli) -> Result<(), Failure> {
    match command {
        Cli::Serve { config } => {
            let config = load(config.as_deref())?;
            logging::init(&config.log).map_err(Failure::config)?;
            serve::run(config)
        }
        Cli::Check { config: path } => {
            let config = load(path.as_deref())?;
            zatan::cmd::check::run(&config, path.as_deref())
        }
        Cli::Simulate { config, from, text } => {
            let config = load(config.as_deref())?;
            let simulated = zatan::cmd::simulate::run(&config, &from, &text)?;
            for note in &simulated.notes {
                eprintln!("zatan simulate: {note}");
            }
            println!("{}", simulated.reply);
            Ok(())
        }
        Cli::Convert { input, output, options } => {
            println!("{}", zatan::cmd::convert::run(&input, &output, &options)?);
            Ok(())
        }
        Cli::Menu { config, action } => {
            let config = load(config.as_deref())?;
            logging::init(&config.log).map_err(Failure::config)?;
            println!("{}", zatan::cmd::menu::run(&config, &action)?);
            Ok(())
        }
        Cli::Books { config, action } => {
            let config = load(config.as_deref())?;
            logging::init(&config.log).map_err(Failure::config)?;
            println!("{}", zatan::cmd::books::run(&config, &action)?);
            Ok(())
        }
        Cli::Articles { config, action } => {
            let config = load(config.as_deref())?;
            logging::init(&config.log).map_err(Failure::config)?;
            println!("{}", zatan::cmd::articles::run(&config, &action)?);
            Ok(())
        }
        Cli::Crawl { config, source, once } => {
            let config = load(config.as_deref())?;
            logging::init(&config.log).map_err(Failure::config)?;
            zatan::cmd::crawl::run(&config, source.as_deref(), once)
        }
        Cli::Version => {
            println!("zatan {}", zatan::VERSION);
            Ok(())
        }
        Cli::Help => {
            println!("{USAGE}");
            Ok(())
        }
    }
}

fn load(path: Option<&std::path::Path>) -> Result<Config, Failure> {
    Config::load(path).map_err(|e| Failure::config(e.to_string()))
}
