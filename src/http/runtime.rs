//! The may coroutine runtime's settings for this server.

use std::mem::size_of;

use log::info;

/// Handlers parse XML with roxmltree and hash with sha1 on the connection's
/// coroutine stack; may's default (32 KiB on 64-bit) is too small for that.
const HANDLER_STACK_BYTES: usize = 256 * 1024;

/// The boxes this runs on have 1 to 4 cores and little memory.
const WORKERS: usize = 2;

/// may keeps this many spare coroutine stacks ready; its default of 1000
/// stacks of 256 KiB touches 8 MB at start, more than the rest of zatan.
/// Spare stacks only save an allocation per new connection.
const SPARE_STACKS: usize = 16;

/// may's own default stack size, in words.
const MAY_DEFAULT_STACK_WORDS: usize = 0x1000;

/// Sets the coroutine stack size and worker count, unless the caller already
/// configured may: a stack size other than may's default is taken as that
/// sign. Has no effect once may's scheduler is running (after the first
/// coroutine anywhere in the process was spawned).
pub(crate) fn configure_may_defaults() {
    let config = may::config();
    if config.get_stack_size() != MAY_DEFAULT_STACK_WORDS {
        return;
    }
    // may counts the stack in words, not bytes.
    config
        .set_stack_size(HANDLER_STACK_BYTES / size_of::<usize>())
        .set_pool_capacity(SPARE_STACKS)
        .set_workers(WORKERS);
    info!("may runtime: {WORKERS} workers, {} KiB coroutine stacks", HANDLER_STACK_BYTES / 1024);
}
