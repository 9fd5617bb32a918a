//! How the three programs (`jingwei`, `jingwei-render`, `jingwei-tools`) end: a bug is one
//! readable line, not a backtrace; an error is one line with its chain of causes and exit
//! status 1; a reader that went away (`jingwei info … | head`) is not an error.

use std::process::ExitCode;

/// Report panics as one line naming `program`.
pub fn panic_hook(program: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("{program}: internal error (please report): {info}");
    }));
}

/// The exit status of a command's result; errors are printed as `program: cause: cause …`.
pub fn finish(program: &str, result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let msg: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("{program}: {}", msg.join(": "));
            ExitCode::FAILURE
        }
    }
}
