//! The closed set of protocols, and the one entry point that runs any scenario.

use crate::kv::Kv;
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
    Kv,
}

impl ProtocolKind {
    pub const ALL: &'static [ProtocolKind] = &[
        ProtocolKind::TwoPc,
        ProtocolKind::ThreePc,
        ProtocolKind::PaxosCommit,
        ProtocolKind::Saga,
        ProtocolKind::Tcc,
        ProtocolKind::Kv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProtocolKind::TwoPc => "two_pc",
            ProtocolKind::ThreePc => "three_pc",
            ProtocolKind::PaxosCommit => "paxos_commit",
            ProtocolKind::Saga => "saga",
            ProtocolKind::Tcc => "tcc",
            ProtocolKind::Kv => "kv",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProtocolKind::TwoPc => "Two-phase commit",
            ProtocolKind::ThreePc => "Three-phase commit",
            ProtocolKind::PaxosCommit => "Paxos Commit",
            ProtocolKind::Saga => "Saga (orchestrated or choreographed)",
            ProtocolKind::Tcc => "Try-Confirm-Cancel",
            ProtocolKind::Kv => "Transactional key-value store (2PL + 2PC)",
        }
    }

    pub fn from_name(name: &str) -> Option<ProtocolKind> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The parameter that sets how many participants (resource managers) there are, for
    /// the protocols that have one.
    pub fn size_param(self) -> Option<&'static str> {
        match self {
            ProtocolKind::TwoPc | ProtocolKind::ThreePc => Some("participants"),
            ProtocolKind::PaxosCommit => Some("resource_managers"),
            ProtocolKind::Kv => Some("shards"),
            ProtocolKind::Saga | ProtocolKind::Tcc => None,
        }
    }

    /// What a UI calls the size parameter ("Shards" for the KV store).
    pub fn size_label(self) -> &'static str {
        match self {
            ProtocolKind::PaxosCommit => "Resource managers",
            ProtocolKind::Kv => "Shards",
            _ => "Participants",
        }
    }

    /// The protocol's variants a UI may flip while keeping the rest of the scenario.
    pub fn switches(self) -> &'static [Switch] {
        match self {
            ProtocolKind::TwoPc | ProtocolKind::Tcc => &[],
            ProtocolKind::ThreePc => &[Switch {
                param: "termination",
                label: "Termination",
                choices: &[
                    Choice { value: Value::Str("timeout"), label: "Timeout rule" },
                    Choice { value: Value::Str("elect"), label: "Skeen's termination" },
                ],
                default: 0,
            }],
            ProtocolKind::PaxosCommit => &[
                Switch {
                    param: "faults",
                    label: "F (2F+1 acceptors)",
                    choices: &[
                        Choice { value: Value::Int(0), label: "0" },
                        Choice { value: Value::Int(1), label: "1" },
                        Choice { value: Value::Int(2), label: "2" },
                        Choice { value: Value::Int(3), label: "3" },
                    ],
                    default: 1,
                },
                Switch {
                    param: "faster",
                    label: "Phase 2b",
                    choices: &[
                        Choice { value: Value::Bool(false), label: "Paxos Commit" },
                        Choice { value: Value::Bool(true), label: "Faster" },
                    ],
                    default: 0,
                },
                Switch {
                    param: "colocated",
                    label: "Acceptors",
                    choices: &[
                        Choice { value: Value::Bool(false), label: "own nodes" },
                        Choice { value: Value::Bool(true), label: "on the RMs" },
                    ],
                    default: 0,
                },
            ],
            ProtocolKind::Kv => &[
                Switch {
                    param: "deadlock",
                    label: "Deadlocks",
                    choices: &[
                        Choice { value: Value::Str("no_wait"), label: "no-wait" },
                        Choice { value: Value::Str("wait_die"), label: "wait-die" },
                        Choice { value: Value::Str("wound_wait"), label: "wound-wait" },
                    ],
                    default: 1,
                },
                Switch {
                    param: "coordinator",
                    label: "Coordinator",
                    choices: &[
                        Choice { value: Value::Str("client"), label: "on the client" },
                        Choice { value: Value::Str("node"), label: "own node" },
                    ],
                    default: 0,
                },
                Switch {
                    param: "isolation",
                    label: "Isolation",
                    choices: &[
                        Choice { value: Value::Str("serializable"), label: "strict 2PL" },
                        Choice {
                            value: Value::Str("early_read_release"),
                            label: "early read release",
                        },
                        Choice { value: Value::Str("read_committed"), label: "read committed" },
                        Choice { value: Value::Str("read_uncommitted"), label: "read uncommitted" },
                        Choice { value: Value::Str("no_locks"), label: "no locks" },
                    ],
                    default: 0,
                },
                Switch {
                    param: "timeouts",
                    label: "Timeouts",
                    choices: &[
                        Choice { value: Value::Bool(true), label: "presumed abort" },
                        Choice { value: Value::Bool(false), label: "none" },
                    ],
                    default: 0,
                },
            ],
            ProtocolKind::Saga => &[Switch {
                param: "mode",
                label: "Coordination",
                choices: &[
                    Choice { value: Value::Str("orchestrated"), label: "Orchestration" },
                    Choice { value: Value::Str("choreographed"), label: "Choreography" },
                ],
                default: 0,
            }],
        }
    }
}

/// A parameter a UI offers as a switch between variants of one protocol (3PC's termination
/// rule, a saga's orchestration or choreography): flipping it keeps the rest of the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switch {
    /// The key in the scenario's `params`.
    pub param: &'static str,
    pub label: &'static str,
    pub choices: &'static [Choice],
    /// The choice that holds when `params` leaves the key out (the protocol's default).
    pub default: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub value: Value,
    pub label: &'static str,
}

/// A switch's value as plain data (it becomes JSON in `params`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Str(&'static str),
    Bool(bool),
    Int(u64),
}

impl Value {
    pub fn json(self) -> serde_json::Value {
        match self {
            Value::Str(s) => s.into(),
            Value::Bool(b) => b.into(),
            Value::Int(i) => i.into(),
        }
    }
}

impl Switch {
    /// The choice `params` makes (its value for the key, or the default); `None` when the
    /// value is none of the choices.
    pub fn current(&self, params: &serde_json::Value) -> Option<usize> {
        match params.get(self.param) {
            None | Some(serde_json::Value::Null) => Some(self.default),
            Some(v) => self.choices.iter().position(|c| c.value.json() == *v),
        }
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
        Some(ProtocolKind::Kv) => Ok(Box::new(Recorded::<Kv>::new(scenario)?)),
        None => {
            let known: Vec<&str> = ProtocolKind::ALL.iter().map(|k| k.name()).collect();
            Err(ScenarioError::new(
                "protocol",
                format!("unknown protocol \"{}\" (known: {})", scenario.protocol, known.join(", ")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults(kind: ProtocolKind) -> serde_json::Value {
        match kind {
            ProtocolKind::TwoPc => serde_json::to_value(crate::two_pc::Params::default()),
            ProtocolKind::ThreePc => serde_json::to_value(crate::three_pc::Params::default()),
            ProtocolKind::PaxosCommit => {
                serde_json::to_value(crate::paxos_commit::Params::default())
            }
            ProtocolKind::Saga => serde_json::to_value(crate::saga::Params::default()),
            ProtocolKind::Tcc => serde_json::to_value(crate::tcc::Params::default()),
            ProtocolKind::Kv => serde_json::to_value(crate::kv::Params::default()),
        }
        .expect("parameters serialize")
    }

    #[test]
    fn switches_name_real_parameters_and_their_defaults() {
        for kind in ProtocolKind::ALL {
            let params = defaults(*kind);
            for sw in kind.switches() {
                let default = params
                    .get(sw.param)
                    .unwrap_or_else(|| panic!("{} has no parameter {}", kind.name(), sw.param));
                assert_eq!(sw.choices[sw.default].value.json(), *default, "{}", sw.param);
                assert_eq!(sw.current(&serde_json::json!({})), Some(sw.default));
                // Every choice runs.
                for c in sw.choices {
                    let mut s = commitscope_engine::Scenario::new(kind.name());
                    s.params = serde_json::json!({ sw.param: c.value.json() });
                    assert!(run(&s).is_ok(), "{} {}={:?}", kind.name(), sw.param, c.value);
                }
            }
            if let Some(p) = kind.size_param() {
                assert!(params.get(p).is_some_and(|v| v.is_u64()), "{}", kind.name());
            }
        }
    }
}
