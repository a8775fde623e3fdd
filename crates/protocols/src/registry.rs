//! The closed set of protocols, and the one entry point that runs any scenario.

use crate::paxos_commit::PaxosCommit;
use crate::saga::Saga;
use crate::tcc::Tcc;
use crate::three_pc::ThreePc;
use crate::two_pc::TwoPc;
use commitscope_engine::erased::{AnyRun, Recorded};
use commitscope_engine::{Scenario, ScenarioError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtocolKind {
    TwoPc,
    ThreePc,
    PaxosCommit,
    Saga,
    Tcc,
}

impl ProtocolKind {
    pub const ALL: &'static [ProtocolKind] = &[
        ProtocolKind::TwoPc,
        ProtocolKind::ThreePc,
        ProtocolKind::PaxosCommit,
        ProtocolKind::Saga,
        ProtocolKind::Tcc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProtocolKind::TwoPc => "two_pc",
            ProtocolKind::ThreePc => "three_pc",
            ProtocolKind::PaxosCommit => "paxos_commit",
            ProtocolKind::Saga => "saga",
            ProtocolKind::Tcc => "tcc",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProtocolKind::TwoPc => "Two-phase commit",
            ProtocolKind::ThreePc => "Three-phase commit",
            ProtocolKind::PaxosCommit => "Paxos Commit",
            ProtocolKind::Saga => "Saga (orchestrated or choreographed)",
            ProtocolKind::Tcc => "Try-Confirm-Cancel",
        }
    }

    pub fn from_name(name: &str) -> Option<ProtocolKind> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// Runs a scenario of any protocol to its end and returns the recorded run.
pub fn run(scenario: &Scenario) -> Result<Box<dyn AnyRun>, ScenarioError> {
    match ProtocolKind::from_name(&scenario.protocol) {
        Some(ProtocolKind::TwoPc) => Ok(Box::new(Recorded::<TwoPc>::new(scenario)?)),
        Some(ProtocolKind::ThreePc) => Ok(Box::new(Recorded::<ThreePc>::new(scenario)?)),
        Some(ProtocolKind::PaxosCommit) => Ok(Box::new(Recorded::<PaxosCommit>::new(scenario)?)),
        Some(ProtocolKind::Saga) => Ok(Box::new(Recorded::<Saga>::new(scenario)?)),
        Some(ProtocolKind::Tcc) => Ok(Box::new(Recorded::<Tcc>::new(scenario)?)),
        None => {
            let known: Vec<&str> = ProtocolKind::ALL.iter().map(|k| k.name()).collect();
            Err(ScenarioError::new(
                "protocol",
                format!("unknown protocol \"{}\" (known: {})", scenario.protocol, known.join(", ")),
            ))
        }
    }
}
