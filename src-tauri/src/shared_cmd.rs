//! The shared store in the app: log in, list and open cases, change them with the version
//! shown (a stale change comes back with both versions), and other users' changes pushed to the
//! page as `shared-changed` events — one per batch, each id once.

use jingwei_app::Result;
use jingwei_app::shared::Whoami;
use jingwei_app::shared_link::{SharedChangeInput, SharedDetail, SharedWrite};
use jingwei_cases::Status;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tauri::{Emitter, State};

use crate::state::AppState;

type S<'a> = State<'a, AppState>;

/// Run `f` on a thread of its own: the PostgreSQL driver blocks on a runtime of its own, which
/// may not start inside Tauri's (where async commands run).
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|_| Err(jingwei_app::Error::Invalid("the shared store's call failed".into())))
    })
}

/// Log in to a shared store and start hearing its changes.
#[tauri::command]
pub async fn shared_connect(
    app: tauri::AppHandle,
    state: S<'_>,
    url: String,
    password: String,
    data_key: Option<String>,
) -> Result<Whoami> {
    let key = data_key.filter(|k| !k.trim().is_empty()).map(PathBuf::from);
    let session = &state.session;
    let (who, mut watcher) = off_runtime(|| {
        let who = session.shared_connect(&url, Some(&password), key.as_deref())?;
        Ok((who, session.shared_watcher()?))
    })?;
    // A newer link (or none) ends this watcher.
    let generation = state.shared_generation.fetch_add(1, Ordering::SeqCst) + 1;
    let current = state.shared_generation.clone();
    std::thread::Builder::new()
        .name("jingwei-shared-watch".into())
        .spawn(move || {
            while current.load(Ordering::SeqCst) == generation {
                match watcher.next_batch(Duration::from_millis(500), Duration::from_millis(150)) {
                    Ok(Some(batch)) => {
                        if current.load(Ordering::SeqCst) == generation {
                            let _ = app.emit("shared-changed", batch);
                        }
                    }
                    Ok(None) => {}
                    // The listener logs in again itself; were the store gone for good, wait.
                    Err(_) => std::thread::sleep(Duration::from_secs(2)),
                }
            }
        })
        .map_err(|e| jingwei_app::Error::Invalid(format!("cannot start listening: {e}")))?;
    Ok(who)
}

/// Log out of the shared store.
#[tauri::command]
pub async fn shared_disconnect(state: S<'_>) -> Result<()> {
    state.shared_generation.fetch_add(1, Ordering::SeqCst);
    off_runtime(|| state.session.shared_disconnect())
}

/// Who the app is logged in as, if at all.
#[tauri::command]
pub async fn shared_whoami(state: S<'_>) -> Result<Option<Whoami>> {
    state.session.shared_whoami()
}

/// The cases the user may see.
#[tauri::command]
pub async fn shared_list(state: S<'_>, statuses: Vec<String>) -> Result<Vec<jingwei_app::shared::SharedCase>> {
    let statuses: Vec<Status> = statuses.iter().filter_map(|s| Status::parse(s)).collect();
    off_runtime(|| state.session.shared_list(&statuses))
}

/// Some cases again (those heard changed).
#[tauri::command]
pub async fn shared_cases(state: S<'_>, ids: Vec<i64>) -> Result<Vec<jingwei_app::shared::SharedCase>> {
    off_runtime(|| state.session.shared_cases(&ids))
}

/// A case with its notes.
#[tauri::command]
pub async fn shared_detail(state: S<'_>, id: i64) -> Result<SharedDetail> {
    off_runtime(|| state.session.shared_detail(id))
}

/// Change a case with the version shown.
#[tauri::command]
pub async fn shared_change(state: S<'_>, input: SharedChangeInput) -> Result<SharedWrite> {
    off_runtime(|| state.session.shared_change(&input))
}
