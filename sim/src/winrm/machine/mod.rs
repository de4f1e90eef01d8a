//! One simulated Windows machine.
