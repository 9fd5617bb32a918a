//! The session's comparison use cases (see [`crate::compare`]): start, move and end a swipe or
//! split screen, the time slider's epochs and date steps.

use jingwei_layers::Workspace;
use jingwei_scene::scene::{SceneData, build_scene_shown};

use crate::compare::{
    CompareRequest, CompareSink, CompareUpdate, EpochDto, TimeFilter, check, date_column, date_epochs_of, epochs_of, shown_in,
};
use crate::error::{Error, Result};
use crate::session::Session;

impl Session {
    /// The years of a layer's date field (the time slider's steps).
    pub fn date_epochs(&self, layer: &str, field: &str) -> Result<Vec<String>> {
        self.with_workspace(|ws| date_epochs_of(ws, layer, field))
    }

    /// Show only what a date field places up to a date (`None`: everything again).
    pub fn set_time_filter(&self, t: Option<TimeFilter>) -> Result<()> {
        self.with_workspace(|ws| {
            if let Some(t) = &t {
                date_column(ws, &t.layer, &t.field)?;
            }
            *self.time_filter.lock()? = t;
            self.rebuild(ws)
        })
    }

    /// Send comparison updates to `sink` (the renderer).
    pub fn set_compare_sink(&self, sink: CompareSink) -> Result<()> {
        *self.compare_sink.lock()? = Some(sink);
        Ok(())
    }

    /// Start, change or (`None`) end a comparison; the scenes are built and sent.
    pub fn set_compare(&self, req: Option<CompareRequest>) -> Result<()> {
        self.with_workspace(|ws| {
            if let Some(r) = &req {
                check(ws, r)?;
            }
            let was = self.compare.lock()?.clone();
            *self.compare.lock()? = req.clone();
            // Only the divider or the zoom moved: the scenes stay.
            if let (Some(a), Some(b)) = (&was, &req)
                && a.sides == b.sides
                && std::mem::discriminant(&a.compare) == std::mem::discriminant(&b.compare)
                && a.compare.scenes() == b.compare.scenes()
            {
                if let Some(sink) = self.compare_sink.lock()?.as_ref() {
                    sink(CompareUpdate {
                        compare: Some(b.compare.clone()),
                        scenes: None,
                    });
                }
                return Ok(());
            }
            self.rebuild(ws)
        })
    }

    /// The comparison under way.
    pub fn compare(&self) -> Result<Option<CompareRequest>> {
        Ok(self.compare.lock()?.clone())
    }

    /// The scenes of sides 1… of `req` (side 0 is the main scene), their imagery read now.
    pub(crate) fn compare_scenes(
        &self,
        ws: &Workspace,
        req: &CompareRequest,
        h: &jingwei_scene::scene::Highlight,
    ) -> Result<Vec<SceneData>> {
        let st = self.imagery_state()?;
        let cache = st.loader.cache();
        let compose =
            |l: &jingwei_layers::ImageryLayer, t: &jingwei_layers::imagery::warp::Target| crate::imagery::compose_now(l, t, cache);
        Ok((1..req.compare.scenes())
            .map(|side| build_scene_shown(ws, h, Some(&compose), &|id, v| shown_in(req, side, id, v)))
            .collect())
    }

    /// The time slider's epochs: layers with a period, oldest first.
    pub fn epochs(&self) -> Result<Vec<EpochDto>> {
        self.with_workspace(|ws| Ok(epochs_of(ws)))
    }

    /// Show epoch `layer_id` and hide the other epochs (one redraw).
    pub fn show_epoch(&self, layer_id: &str) -> Result<()> {
        self.with_workspace_mut(|ws| {
            let ids: Vec<String> = epochs_of(ws).into_iter().map(|e| e.layer_id).collect();
            if !ids.iter().any(|i| i == layer_id) {
                return Err(Error::Invalid(format!("'{layer_id}' is not a layer with a period")));
            }
            for l in ws.layers.iter_mut().filter(|l| ids.contains(&l.id)) {
                l.visible = l.id == layer_id;
            }
            self.rebuild(ws)
        })
    }
}
