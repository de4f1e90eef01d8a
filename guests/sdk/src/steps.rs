//! A build as a list of steps, each with its undo (Packer's `multistep`,
//! typed).
//!
//! [`run`] runs the steps in order. Before each step it asks the host
//! whether the build was cancelled. When a step fails, or the build is
//! cancelled, no further step runs. In every case — success included, as
//! temporary resources must go — the steps that ran (the failing one too)
//! are undone in reverse order. A step's undo decides from [`Outcome`] and
//! from what it recorded in the state whether there is anything to undo.

use crate::bindings::kiln::plugin::timer;
use crate::types::BuildError;
use crate::ui;

/// How the build ended, as seen by the undo steps.
///
/// ```rust
/// use kiln_guest::steps::Outcome;
///
/// // An image is kept only when the build succeeded.
/// let delete_image = |outcome: Outcome| outcome != Outcome::Succeeded;
/// assert!(delete_image(Outcome::Cancelled));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every step succeeded.
    Succeeded,
    /// A step failed.
    Failed,
    /// The host cancelled the build.
    Cancelled,
}

/// Why a step stopped the build.
///
/// ```rust
/// use kiln_guest::steps::StepError;
///
/// let error: StepError = format!("instance {} has no IP", "i-1").into();
/// assert!(matches!(error, StepError::Failed(m) if m == "instance i-1 has no IP"));
/// ```
#[derive(Debug)]
pub enum StepError {
    /// The step failed; the message says why, as a full sentence.
    Failed(String),
    /// The build was cancelled while the step waited.
    Cancelled,
}

impl StepError {
    /// A failure with a message.
    ///
    /// ```rust
    /// let error = kiln_guest::steps::StepError::failed("no image to copy");
    /// ```
    pub fn failed(message: impl Into<String>) -> Self {
        StepError::Failed(message.into())
    }
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError::Failed(message)
    }
}

/// An undo's failure as the runner shows it: the failure's sentence, or
/// "interrupted" when the build was cancelled during the undo. For
/// `Step::undo`, which reports a sentence: `cleanup(..).map_err(undo_error)?`.
///
/// ```rust
/// use kiln_guest::steps::{StepError, undo_error};
///
/// assert_eq!(undo_error(StepError::failed("VPC vpc-1 is still in use")), "VPC vpc-1 is still in use");
/// assert_eq!(undo_error(StepError::Cancelled), "interrupted");
/// ```
pub fn undo_error(error: impl Into<StepError>) -> String {
    match error.into() {
        StepError::Failed(message) => message,
        StepError::Cancelled => "interrupted".to_string(),
    }
}

/// One step of a build over the builder's state `S`.
///
/// ```rust
/// use kiln_guest::steps::{Outcome, Step, StepError};
///
/// struct State {
///     vpc_id: Option<String>,
/// }
///
/// struct CreateVpc;
///
/// impl Step<State> for CreateVpc {
///     fn name(&self) -> &'static str {
///         "create VPC"
///     }
///
///     fn run(&mut self, state: &mut State) -> Result<(), StepError> {
///         state.vpc_id = Some("vpc-1".into()); // as the cloud answered
///         Ok(())
///     }
///
///     fn undo(&mut self, state: &mut State, _outcome: Outcome) -> Result<(), String> {
///         if let Some(_id) = state.vpc_id.take() {
///             // delete it
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Step<S> {
    /// A short name for messages, verb + object: `create key pair`.
    fn name(&self) -> &'static str;

    /// Does the step's work, recording in `state` what it created.
    fn run(&mut self, state: &mut S) -> Result<(), StepError>;

    /// Undoes what `run` created, if anything. Called after the build ends,
    /// in reverse order, for every step that ran. Errors are shown to the
    /// user and do not stop the other undo steps.
    fn undo(&mut self, _state: &mut S, _outcome: Outcome) -> Result<(), String> {
        Ok(())
    }
}

/// Runs `steps` over `state`, then undoes those that ran in reverse order.
/// With `keep_on_error` (the user's `-on-error=abort`), a failed build is
/// not undone, so the user can inspect what it left.
///
/// Fails with [`BuildError::Failed`] (the failing step's name and message)
/// or [`BuildError::Cancelled`]; undo failures are shown, not returned.
///
/// ```no_run
/// use kiln_guest::steps::{self, Step};
///
/// # struct State; struct Preflight; struct CreateVpc;
/// # impl Step<State> for Preflight { fn name(&self) -> &'static str { "preflight" } fn run(&mut self, _: &mut State) -> Result<(), kiln_guest::steps::StepError> { Ok(()) } }
/// # impl Step<State> for CreateVpc { fn name(&self) -> &'static str { "create VPC" } fn run(&mut self, _: &mut State) -> Result<(), kiln_guest::steps::StepError> { Ok(()) } }
/// let mut plan: Vec<Box<dyn Step<State>>> = vec![Box::new(Preflight), Box::new(CreateVpc)];
/// steps::run(&mut plan, &mut State, false)?;
/// # Ok::<(), kiln_guest::types::BuildError>(())
/// ```
pub fn run<S>(steps: &mut [Box<dyn Step<S>>], state: &mut S, keep_on_error: bool) -> Result<(), BuildError> {
    let mut ran = 0;
    let mut outcome = Outcome::Succeeded;
    let mut error = None;
    for step in steps.iter_mut() {
        if timer::cancelled() {
            outcome = Outcome::Cancelled;
            break;
        }
        ran += 1;
        match step.run(state) {
            Ok(()) => {}
            Err(StepError::Failed(message)) => {
                outcome = Outcome::Failed;
                error = Some(format!("{}: {message}", step.name()));
                break;
            }
            Err(StepError::Cancelled) => {
                outcome = Outcome::Cancelled;
                break;
            }
        }
    }
    // A cancellation that arrived during the last step must be observed
    // now, so that the undo steps' own waits are not interrupted by it.
    if timer::cancelled() && outcome == Outcome::Succeeded {
        outcome = Outcome::Cancelled;
    }
    if outcome == Outcome::Failed && keep_on_error {
        ui::error("a step failed; leaving what the build created in place for inspection (-on-error=abort)");
        ran = 0;
    }
    for step in steps[..ran].iter_mut().rev() {
        if let Err(message) = step.undo(state, outcome) {
            ui::error(format!("undo {}: {message}", step.name()));
        }
    }
    match outcome {
        Outcome::Succeeded => Ok(()),
        Outcome::Failed => Err(BuildError::Failed(error.unwrap_or_default())),
        Outcome::Cancelled => Err(BuildError::Cancelled),
    }
}
