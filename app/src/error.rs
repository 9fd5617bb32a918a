//! The one error of the application API. Every lower error converts into it with its message
//! intact (file and problem in one line); the front doors print it (CLI) or hand it to the page
//! as `{kind, message}` (app).

use std::path::PathBuf;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No workspace is open in the session.
    #[error("no workspace is open")]
    NoWorkspace,
    /// The workspace has no layer with this id.
    #[error("no layer '{0}'")]
    NoLayer(String),
    /// The layer has no feature with this fid.
    #[error("no feature {fid} in {layer}")]
    NoFeature {
        /// The layer's title.
        layer: String,
        /// The fid asked for.
        fid: i64,
    },
    /// Something the use case needs is not in the workspace (a layer role, a field, a location).
    #[error("{0}")]
    Missing(String),
    /// Bad input from the user.
    #[error("{0}")]
    Invalid(String),
    /// The user cancelled a long job.
    #[error("{0}: cancelled")]
    Cancelled(String),
    /// Reading or writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// From the layer core (sources, CRS, workspace).
    #[error(transparent)]
    Layers(#[from] jingwei_layers::LayersError),
    /// From the case and incident store.
    #[error(transparent)]
    Cases(#[from] jingwei_cases::CaseError),
    /// From the shared store (PostgreSQL).
    #[error(transparent)]
    Store(#[from] jingwei_store::StoreError),
    /// From the analyses.
    #[error(transparent)]
    Analysis(#[from] jingwei_analysis::AnalysisError),
    /// From a feed.
    #[error(transparent)]
    Feed(#[from] jingwei_feeds::FeedError),
    /// A map service failed (its URL shown with keys blanked out).
    #[error(transparent)]
    Service(#[from] jingwei_services::ServiceError),
    /// From a style file.
    #[error(transparent)]
    Style(#[from] jingwei_scene::style::StyleError),
    /// A print template or layout (the template file named).
    #[error(transparent)]
    Print(#[from] jingwei_print::PrintError),
    /// Rendering a site map or encoding a frame.
    #[error("{0}")]
    Render(String),
    /// A lock held by a thread that panicked: the session is no longer usable.
    #[error("the session's state is damaged (a previous operation failed badly); restart Jingwei")]
    Poisoned,
}

impl Error {
    /// A short, stable name of the kind of error, for the page to choose how to show it.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NoWorkspace => "no_workspace",
            Error::NoLayer(_) | Error::NoFeature { .. } => "not_found",
            Error::Missing(_) => "missing",
            Error::Invalid(_) => "invalid",
            Error::Cancelled(_) => "cancelled",
            Error::Io { .. } => "io",
            Error::Layers(_) => "layers",
            Error::Cases(_) => "cases",
            Error::Store(jingwei_store::StoreError::Stale { .. } | jingwei_store::StoreError::StaleIncident { .. }) => "stale",
            Error::Store(jingwei_store::StoreError::Denied { .. }) => "denied",
            Error::Store(_) => "store",
            Error::Analysis(_) => "analysis",
            Error::Feed(_) => "feed",
            Error::Service(_) => "service",
            Error::Style(_) => "style",
            Error::Print(_) => "print",
            Error::Render(_) => "render",
            Error::Poisoned => "internal",
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}

/// At the app's boundary an error is `{"kind": …, "message": …}`.
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 2)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

impl<T> From<std::sync::PoisonError<T>> for Error {
    fn from(_: std::sync::PoisonError<T>) -> Error {
        Error::Poisoned
    }
}

/// The result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<std::fmt::Error> for Error {
    fn from(_: std::fmt::Error) -> Error {
        Error::Render("cannot format the page".into())
    }
}
