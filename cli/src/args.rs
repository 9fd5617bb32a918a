//! Argument parsing shared by `jingwei` and `jingwei-render`: `-V` names the build (version,
//! commit and its date), and `--version` may say more.

/// Parse the arguments of `C`; `long_version`, when given, is what `--version` prints.
pub fn parse<C: clap::Parser>(long_version: Option<String>) -> C {
    // clap keeps version texts as `&'static str`; these are made once per process.
    let short: &'static str = Box::leak(jingwei_app::about::version_line().into_boxed_str());
    let mut cmd = C::command().version(short);
    if let Some(long) = long_version {
        cmd = cmd.long_version(&*Box::leak(long.into_boxed_str()));
    }
    let matches = cmd.get_matches();
    C::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}
