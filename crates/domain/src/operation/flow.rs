//! Business process flow moves (C4): next stage, previous stage, set active stage.
//!
//! A record's active stage is the stage id in its `activestageid`; a record whose
//! `activestageid` is empty or names a stage of another flow is at the flow's first
//! stage. Moving forward needs the required steps of the stage being left — and of every
//! stage skipped over — filled; the error names each stage and its empty fields. Moving
//! back is always allowed. Only open records move (a closed record's flow is finished).

use super::outcome::{Applied, OpError};
use super::record::{Run, blank, field, invalid_state, require_open, set};
use super::storage::RecordStorage;
use crate::metadata::ProcessFlow;

/// Where a flow move goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Move<'a> {
    /// The stage after the active one.
    Next,
    /// The stage before the active one.
    Previous,
    /// The stage with this id.
    To(&'a str),
}

fn unknown(entity: &str, flow_id: &str, stage_id: Option<&str>) -> OpError {
    OpError::UnknownFlow {
        entity: entity.to_owned(),
        flow_id: flow_id.to_owned(),
        stage_id: stage_id.map(str::to_owned),
    }
}

/// Moves the record's active stage on `flow_id`.
pub(super) fn flow_move<S: RecordStorage>(
    mut run: Run<'_, S>,
    (entity, id): (&str, &str),
    flow_id: &str,
    to: Move<'_>,
) -> Result<Applied, OpError> {
    let def = run.def(entity)?;
    let flow: &ProcessFlow = run
        .md
        .flows_for(entity)
        .find(|f| f.id == flow_id)
        .ok_or_else(|| unknown(entity, flow_id, None))?;
    if flow.stages.is_empty() {
        return Err(unknown(entity, flow_id, None));
    }
    let mut fields = run.load(entity, id)?;
    require_open(def, id, &fields, "moved through its process flow")?;
    let current = field(&fields, "activestageid")
        .and_then(|s| flow.stages.iter().position(|st| st.id == s))
        .unwrap_or(0);
    let target = match to {
        Move::Next if current + 1 < flow.stages.len() => current + 1,
        Move::Next => {
            return Err(invalid_state(
                entity,
                id,
                format!("it is already at the last stage of {}", flow.name),
            ));
        }
        Move::Previous if current > 0 => current - 1,
        Move::Previous => {
            return Err(invalid_state(
                entity,
                id,
                format!("it is already at the first stage of {}", flow.name),
            ));
        }
        Move::To(stage_id) => flow
            .stages
            .iter()
            .position(|st| st.id == stage_id)
            .ok_or_else(|| unknown(entity, flow_id, Some(stage_id)))?,
    };
    let missing: Vec<String> = flow.stages[current..target.max(current)]
        .iter()
        .filter_map(|stage| {
            let empty: Vec<&str> = stage
                .steps
                .iter()
                .filter(|step| step.required && blank(&fields, &step.attribute))
                .map(|step| step.attribute.as_str())
                .collect();
            (!empty.is_empty()).then(|| format!("{} needs {}", stage.name, empty.join(", ")))
        })
        .collect();
    if !missing.is_empty() {
        return Err(invalid_state(
            entity,
            id,
            format!(
                "it cannot move to {}: required steps are empty ({})",
                flow.stages[target].name,
                missing.join("; ")
            ),
        ));
    }
    set(&mut fields, "activestageid", flow.stages[target].id.clone());
    run.write(def, id, fields)?;
    Ok(run.done())
}
