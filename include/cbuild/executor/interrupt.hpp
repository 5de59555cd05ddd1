#pragma once
/// Ctrl-C / SIGTERM handling for long operations: the handler only records the signal and
/// makes interrupt_fd() readable; running containers poll it, kill their pid namespace, clean
/// up, and return an `interrupted` error. The caller then exits with code 130.
namespace cbuild::executor {

/// Install SIGINT and SIGTERM handlers (idempotent). Without them the signals keep their
/// default action (the process dies, containers die with it via PR_SET_PDEATHSIG, but the
/// caller's temp directories are not removed).
void install_interrupt_handlers();
/// The signal received, or 0.
int interrupt_signal();
/// A descriptor that becomes (and stays) readable once a signal was received; -1 before
/// install_interrupt_handlers().
int interrupt_fd();

}  // namespace cbuild::executor
