//! Nothing to run: building this crate builds libuci-sys, whose build script
//! installs the `uci` command into its OUT_DIR/bin.
use libuci_sys as _;

fn main() {}
