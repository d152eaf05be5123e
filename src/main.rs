use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = gauntlet::cli::Cli::parse();
    match gauntlet::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}
