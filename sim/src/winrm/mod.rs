//! WinRM endpoints of the simulated Windows machines.
//!
//! - `machine/`: one simulated Windows machine: its files, its environment,
//!   and the commands it understands.

pub mod machine;
