//! `commitscope harness`: the pure session of `commitscope_protocols::harness` on stdio.

use commitscope_protocols::harness::Session;
use std::io::Write;

pub fn serve(lines: impl Iterator<Item = String>, out: &mut impl Write, trace: bool) {
    let mut session = Session::default();
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        for reply in session.handle(&line) {
            // A closed stdout ends the session; nothing else to do.
            if writeln!(out, "{reply}").and_then(|_| out.flush()).is_err() {
                return;
            }
        }
        if trace {
            if let Some(run) = session.last_run.take() {
                let _ = crate::print_run(&*run, &mut std::io::stderr());
            }
        }
    }
}
