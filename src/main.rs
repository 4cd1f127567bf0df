//! The `embody` command.

mod interface;

use clap::{Parser, Subcommand};

/// embody: a ROS 2-compatible robotics middleware and node stack in Rust.
#[derive(Parser)]
#[command(name = "embody", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect the interface types (messages, services, actions) embody was built with.
    #[command(subcommand)]
    Interface(interface::InterfaceCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Interface(cmd) => interface::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
