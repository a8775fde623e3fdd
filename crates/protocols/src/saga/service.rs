//! The checkout's three services — inventory, payment, shipping — shared by the
//! orchestrated saga, the choreographed saga and TCC.
//!
//! A service's local data (stock per item, balances per user, shipments) is never kept
//! anywhere but in its durable log: `Books::from_log` folds the log records into the data
//! and the dedup table, so a crash keeps exactly what was forced, and the card of a service
//! that is down still shows its data. Each record is one local transaction.
//!
//! Idempotency: every forward step and every compensation carries a key (saga id + step).
//! The dedup table remembers, per key, the forward result (applied, or refused with a
//! reason) and whether it was compensated. A repeated request gets the cached result and
//! changes nothing; a compensation of a step that never ran is a no-op that is *remembered*,
//! so a forward request that arrives after it (late, or a duplicate) is refused instead of
//! executed. In TCC the same mechanism is the "empty cancel" and the refused "hanging try".

use commitscope_engine::vecmap::VecMap;
use commitscope_engine::Table;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The title of every service's dedup table on its card.
pub const DEDUP_TABLE: &str = "dedup table";

/// A saga (or TCC transaction) id: `s1`, `s2`... or the client's own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SagaId(pub String);

impl fmt::Display for SagaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One step of the checkout; each runs at its own service.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Inventory: reserve the items (compensation: release them).
    #[default]
    Reserve,
    /// Payment: charge the user (compensation: refund).
    Charge,
    /// Shipping: create the shipment (compensation: cancel it).
    Ship,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::Reserve, Step::Charge, Step::Ship];

    /// The service (node name) that runs this step.
    pub fn service(self) -> &'static str {
        match self {
            Step::Reserve => "inventory",
            Step::Charge => "payment",
            Step::Ship => "shipping",
        }
    }
    /// The step's name in the course's vocabulary (`step_complete`'s `step`).
    pub fn course_name(self) -> &'static str {
        match self {
            Step::Reserve => "reserve_inventory",
            Step::Charge => "charge_payment",
            Step::Ship => "create_shipment",
        }
    }
    /// The compensation's name in the course's vocabulary.
    pub fn compensation_name(self) -> &'static str {
        match self {
            Step::Reserve => "release_inventory",
            Step::Charge => "refund_payment",
            Step::Ship => "cancel_shipment",
        }
    }
    /// Short verb of the forward action: the message kind (`reserve`, `charge`, `ship`).
    pub fn verb(self) -> &'static str {
        match self {
            Step::Reserve => "reserve",
            Step::Charge => "charge",
            Step::Ship => "ship",
        }
    }
    /// Short verb of the compensation (`release`, `refund`, `cancel_shipment`).
    pub fn undo_verb(self) -> &'static str {
        match self {
            Step::Reserve => "release",
            Step::Charge => "refund",
            Step::Ship => "cancel_shipment",
        }
    }
    /// Accepts the course's names, the service names and the verbs.
    pub fn parse(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| {
            [s.course_name(), s.service(), s.verb()].contains(&name)
                || (name == "create_shipping" && *s == Step::Ship)
        })
    }
    pub fn for_service(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.service() == name)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())
    }
}

/// The dedup table's key: saga id + step.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Key {
    pub saga: SagaId,
    pub step: Step,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.saga, self.step)
    }
}

/// The checkout a saga carries out: every message carries it, so each service can act on
/// its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Order {
    pub saga: SagaId,
    pub user: String,
    pub item: String,
    pub qty: u32,
    pub amount: u64,
    /// The course's choreography trigger: the payment step fails.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fail_payment: bool,
    /// The shipping step fails (the shipping service answers "unavailable").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fail_shipping: bool,
}

impl Order {
    pub fn key(&self, step: Step) -> Key {
        Key { saga: self.saga.clone(), step }
    }
    pub fn shipment(&self) -> String {
        format!("sh-{}", self.saga)
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}× {} for {}, {}", self.saga, self.qty, self.item, self.user, self.amount)
    }
}

/// What a record does to the local data. The saga's effects are final until compensated;
/// TCC's (`Hold`, `Freeze`, `Book`) are tentative until confirmed or cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    Reserve { item: String, qty: u32 },
    Charge { user: String, amount: u64 },
    Ship { shipment: String },
    Hold { item: String, qty: u32 },
    Freeze { user: String, amount: u64 },
    Book { shipment: String },
}

impl Effect {
    /// The effect `step` of `order` has; `tentative` for TCC's try.
    pub fn of(step: Step, order: &Order, tentative: bool) -> Effect {
        let (item, qty, user, amount) =
            (order.item.clone(), order.qty, order.user.clone(), order.amount);
        match (step, tentative) {
            (Step::Reserve, false) => Effect::Reserve { item, qty },
            (Step::Charge, false) => Effect::Charge { user, amount },
            (Step::Ship, false) => Effect::Ship { shipment: order.shipment() },
            (Step::Reserve, true) => Effect::Hold { item, qty },
            (Step::Charge, true) => Effect::Freeze { user, amount },
            (Step::Ship, true) => Effect::Book { shipment: order.shipment() },
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Reserve { item, qty } => write!(f, "reserved {qty}× {item}"),
            Effect::Charge { user, amount } => write!(f, "charged {amount} to {user}"),
            Effect::Ship { shipment } => write!(f, "created shipment {shipment}"),
            Effect::Hold { item, qty } => write!(f, "held {qty}× {item}"),
            Effect::Freeze { user, amount } => write!(f, "froze {amount} of {user}"),
            Effect::Book { shipment } => write!(f, "booked shipment {shipment}"),
        }
    }
}

/// One local transaction of a service, forced to its log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SvcRecord {
    /// Saga: the forward step ran.
    Applied { key: Key, effect: Effect },
    /// The forward step (or try) was refused: nothing changed. `shortage`: for an
    /// out-of-stock refusal, what it saw (no isolation: other sagas' reservations).
    Refused {
        key: Key,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        shortage: Option<Shortage>,
    },
    /// Saga: the compensation ran; `undid: None` — nothing to undo: the step was refused,
    /// or (`empty`) it never ran here: a no-op that is remembered.
    Compensated { key: Key, undid: Option<Effect>, empty: bool },
    /// TCC: the try holds the resources.
    Tried { key: Key, effect: Effect },
    /// TCC: the hold became final.
    Confirmed { key: Key, effect: Effect },
    /// TCC: the hold was released; `undid: None` — nothing held: the try was refused, or
    /// (`empty`) no try was seen — an empty cancel, remembered so that a try arriving later
    /// (a hanging try) is refused.
    Cancelled { key: Key, undid: Option<Effect>, empty: bool },
}

impl SvcRecord {
    pub fn key(&self) -> &Key {
        match self {
            SvcRecord::Applied { key, .. }
            | SvcRecord::Refused { key, .. }
            | SvcRecord::Compensated { key, .. }
            | SvcRecord::Tried { key, .. }
            | SvcRecord::Confirmed { key, .. }
            | SvcRecord::Cancelled { key, .. } => key,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            SvcRecord::Applied { .. } => "applied",
            SvcRecord::Refused { .. } => "refused",
            SvcRecord::Compensated { .. } => "compensated",
            SvcRecord::Tried { .. } => "tried",
            SvcRecord::Confirmed { .. } => "confirmed",
            SvcRecord::Cancelled { .. } => "cancelled",
        }
    }
    /// Is this an undo (compensation or cancel)?
    pub fn is_undo(&self) -> bool {
        matches!(self, SvcRecord::Compensated { .. } | SvcRecord::Cancelled { .. })
    }
}

impl fmt::Display for SvcRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SvcRecord::Applied { key, effect } => write!(f, "APPLIED {key}: {effect}"),
            SvcRecord::Refused { key, reason, .. } => write!(f, "REFUSED {key}: {reason}"),
            SvcRecord::Compensated { key, undid: Some(e), .. } => {
                write!(f, "COMPENSATED {key}: undid {e}")
            }
            SvcRecord::Compensated { key, undid: None, empty: true } => {
                write!(f, "COMPENSATED {key}: never ran (no-op, remembered)")
            }
            SvcRecord::Compensated { key, undid: None, empty: false } => {
                write!(f, "COMPENSATED {key}: nothing to undo (it was refused)")
            }
            SvcRecord::Tried { key, effect } => write!(f, "TRIED {key}: {effect}"),
            SvcRecord::Confirmed { key, effect } => {
                write!(f, "CONFIRMED {key}: {effect}, now final")
            }
            SvcRecord::Cancelled { key, undid: Some(e), .. } => {
                write!(f, "CANCELLED {key}: released ({e})")
            }
            SvcRecord::Cancelled { key, undid: None, empty: true } => {
                write!(f, "CANCELLED {key}: empty cancel (no try seen, remembered)")
            }
            SvcRecord::Cancelled { key, undid: None, empty: false } => {
                write!(f, "CANCELLED {key}: nothing held (the try was refused)")
            }
        }
    }
}

/// What an out-of-stock refusal saw: the sagas whose live reservations (or holds) took the
/// units it wanted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Shortage {
    pub item: String,
    pub wanted: u32,
    pub available: i64,
    pub held_by: Vec<SagaId>,
}

/// The business rules and the initial data every service starts from (from the params).
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    pub stock: &'a VecMap<String, u64>,
    pub balances: &'a VecMap<String, u64>,
    /// Payment declines these users (the course's `u999`).
    pub decline_users: &'a [String],
    /// Payment declines exactly this amount (the course's 99999); 0: none.
    pub decline_amount: u64,
    /// Shipping refuses every shipment.
    pub shipping_down: bool,
    /// `false` turns the dedup table off (a teaching switch: see the double charge).
    pub idempotency: bool,
}

/// One key's row in the dedup table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The forward step's (or try's) result: its effect, or the reason it was refused.
    pub forward: Option<Result<Effect, String>>,
    /// Compensated (or cancelled): `Some(true)` if it undid an effect, `Some(false)` if it
    /// was a no-op (the step never ran or was refused).
    pub undone: Option<bool>,
    pub confirmed: bool,
    /// How many records applied the forward effect, undid it, confirmed it (each must be
    /// at most 1: more is an effect applied twice).
    pub applies: u32,
    pub undos: u32,
    pub confirms: u32,
}

impl Entry {
    /// Does the forward effect hold now (applied, not undone)?
    pub fn live(&self) -> bool {
        matches!(self.forward, Some(Ok(_))) && self.undone != Some(true)
    }
    pub fn describe(&self) -> String {
        let mut s = match &self.forward {
            None => "no forward request".to_string(),
            Some(Ok(e)) => e.to_string(),
            Some(Err(r)) => format!("refused: {r}"),
        };
        if self.confirmed {
            s.push_str(" · confirmed");
        }
        match self.undone {
            Some(true) => s.push_str(" · undone"),
            Some(false) if self.forward.is_none() => {
                s = "undone before it ran (no-op, remembered)".into()
            }
            Some(false) => s.push_str(" · undo was a no-op"),
            None => {}
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shipment {
    Created,
    Pending,
    Scheduled,
    Cancelled,
}

/// A service's local data and dedup table, folded from its log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Books {
    /// Inventory: units available per item (may go below zero only through a bug).
    pub stock: VecMap<String, i64>,
    /// Inventory (TCC): units held by tries, and sold by confirms.
    pub held: VecMap<String, i64>,
    pub sold: VecMap<String, i64>,
    /// Payment: each user's balance, money frozen by tries, and the merchant's account.
    pub balances: VecMap<String, i64>,
    pub frozen: VecMap<String, i64>,
    pub collected: i64,
    /// Shipping: each shipment's status.
    pub shipments: VecMap<String, Shipment>,
    pub table: VecMap<Key, Entry>,
}

/// What a service does with a forward request (a saga step or a TCC try).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forward {
    /// Seen before: answer the cached result, act not.
    Cached(Result<(), String>),
    /// The key was compensated (or cancelled) already: refuse, act not.
    AfterUndo,
    /// New: force this record and answer from it.
    Act(SvcRecord),
}

/// What a service does with a compensation (or a cancel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undo {
    Cached,
    Act(SvcRecord),
}

/// What a service does with a TCC confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    Cached,
    Act(SvcRecord),
    /// No successful try (a coordinator bug): refuse.
    NotTried,
}

fn add(map: &mut VecMap<String, i64>, k: &str, d: i64) {
    *map.entry(k.to_string()).or_insert(0) += d;
}

impl Books {
    pub fn initial(step: Step, rules: &Rules<'_>) -> Books {
        let mut b = Books::default();
        match step {
            Step::Reserve => {
                for (item, n) in rules.stock {
                    b.stock.insert(item.clone(), *n as i64);
                }
            }
            Step::Charge => {
                for (user, n) in rules.balances {
                    b.balances.insert(user.clone(), *n as i64);
                }
            }
            Step::Ship => {}
        }
        b
    }

    /// The data and the dedup table after every record of `log` (any record type: `svc`
    /// picks the service's own records out).
    pub fn from_log<'r, R: 'r>(
        step: Step,
        rules: &Rules<'_>,
        log: impl IntoIterator<Item = &'r R>,
        svc: impl Fn(&R) -> Option<&SvcRecord>,
    ) -> Books {
        let mut b = Books::initial(step, rules);
        for r in log {
            if let Some(r) = svc(r) {
                b.apply(r);
            }
        }
        b
    }

    fn effect_delta(&mut self, e: &Effect, sign: i64) {
        match e {
            Effect::Reserve { item, qty } => add(&mut self.stock, item, -sign * i64::from(*qty)),
            Effect::Charge { user, amount } => {
                add(&mut self.balances, user, -sign * *amount as i64);
                self.collected += sign * *amount as i64;
            }
            Effect::Ship { shipment } => {
                let s = if sign > 0 { Shipment::Created } else { Shipment::Cancelled };
                self.shipments.insert(shipment.clone(), s);
            }
            Effect::Hold { item, qty } => {
                add(&mut self.stock, item, -sign * i64::from(*qty));
                add(&mut self.held, item, sign * i64::from(*qty));
            }
            Effect::Freeze { user, amount } => {
                add(&mut self.balances, user, -sign * *amount as i64);
                add(&mut self.frozen, user, sign * *amount as i64);
            }
            Effect::Book { shipment } => {
                let s = if sign > 0 { Shipment::Pending } else { Shipment::Cancelled };
                self.shipments.insert(shipment.clone(), s);
            }
        }
    }

    /// Folds one record into the data and the dedup table.
    pub fn apply(&mut self, r: &SvcRecord) {
        match r {
            SvcRecord::Applied { effect, .. } | SvcRecord::Tried { effect, .. } => {
                self.effect_delta(effect, 1);
                let e = self.table.entry(r.key().clone()).or_default();
                e.forward = Some(Ok(effect.clone()));
                e.applies += 1;
            }
            SvcRecord::Refused { reason, .. } => {
                let e = self.table.entry(r.key().clone()).or_default();
                if e.forward.is_none() {
                    e.forward = Some(Err(reason.clone()));
                }
            }
            SvcRecord::Compensated { undid, .. } | SvcRecord::Cancelled { undid, .. } => {
                if let Some(effect) = undid {
                    self.effect_delta(effect, -1);
                }
                let e = self.table.entry(r.key().clone()).or_default();
                e.undone = Some(undid.is_some());
                e.undos += 1;
            }
            SvcRecord::Confirmed { effect, .. } => {
                match effect {
                    Effect::Hold { item, qty } => {
                        add(&mut self.held, item, -i64::from(*qty));
                        add(&mut self.sold, item, i64::from(*qty));
                    }
                    Effect::Freeze { user, amount } => {
                        add(&mut self.frozen, user, -(*amount as i64));
                        self.collected += *amount as i64;
                    }
                    Effect::Book { shipment } => {
                        self.shipments.insert(shipment.clone(), Shipment::Scheduled);
                    }
                    _ => {}
                }
                let e = self.table.entry(r.key().clone()).or_default();
                e.confirmed = true;
                e.confirms += 1;
            }
        }
    }

    /// Sagas whose live reservations (or holds) take units of `item`.
    pub fn holders(&self, item: &str) -> Vec<SagaId> {
        self.table
            .iter()
            .filter(|(_, e)| {
                e.live()
                    && !e.confirmed
                    && matches!(&e.forward, Some(Ok(Effect::Reserve { item: i, .. } | Effect::Hold { item: i, .. })) if i == item)
            })
            .map(|(k, _)| k.saga.clone())
            .collect()
    }

    /// The business decision on a new forward request: the effect, or why it is refused.
    fn decide_forward(
        &self,
        step: Step,
        order: &Order,
        rules: &Rules<'_>,
        tentative: bool,
    ) -> SvcRecord {
        let key = order.key(step);
        let refuse = |reason: String, shortage: Option<Shortage>| SvcRecord::Refused {
            key: key.clone(),
            reason,
            shortage,
        };
        match step {
            Step::Reserve => match self.stock.get(&order.item) {
                None => return refuse(format!("no such item \"{}\"", order.item), None),
                Some(n) if *n < i64::from(order.qty) => {
                    let held_by = self.holders(&order.item);
                    let shortage = (!held_by.is_empty()).then(|| Shortage {
                        item: order.item.clone(),
                        wanted: order.qty,
                        available: *n,
                        held_by,
                    });
                    return refuse(
                        format!("out of stock: {n} {} available, {} wanted", order.item, order.qty),
                        shortage,
                    );
                }
                Some(_) => {}
            },
            Step::Charge => {
                if rules.decline_users.contains(&order.user) {
                    return refuse(format!("card declined (user {})", order.user), None);
                }
                if rules.decline_amount != 0 && order.amount == rules.decline_amount {
                    return refuse(format!("card declined (amount {})", order.amount), None);
                }
                if order.fail_payment {
                    return refuse("payment failed (fail_payment)".into(), None);
                }
                match self.balances.get(&order.user) {
                    None => return refuse(format!("no account for {}", order.user), None),
                    Some(b) if *b < order.amount as i64 => {
                        return refuse(format!("insufficient funds: {b} available"), None)
                    }
                    Some(_) => {}
                }
            }
            Step::Ship => {
                if rules.shipping_down || order.fail_shipping {
                    return refuse("shipping unavailable".into(), None);
                }
            }
        }
        let effect = Effect::of(step, order, tentative);
        if tentative {
            SvcRecord::Tried { key, effect }
        } else {
            SvcRecord::Applied { key, effect }
        }
    }

    /// A forward request (saga step, or TCC try when `tentative`).
    pub fn forward(
        &self,
        step: Step,
        order: &Order,
        rules: &Rules<'_>,
        tentative: bool,
    ) -> Forward {
        let key = order.key(step);
        if let Some(e) = self.table.get(&key) {
            if e.undone.is_some() {
                return Forward::AfterUndo;
            }
            if rules.idempotency {
                if let Some(res) = &e.forward {
                    return Forward::Cached(res.clone().map(|_| ()));
                }
            }
        }
        Forward::Act(self.decide_forward(step, order, rules, tentative))
    }

    /// A compensation (saga) or cancel (TCC, `tentative`).
    pub fn undo(&self, step: Step, order: &Order, rules: &Rules<'_>, tentative: bool) -> Undo {
        let key = order.key(step);
        let entry = self.table.get(&key);
        if rules.idempotency && entry.is_some_and(|e| e.undone.is_some()) {
            return Undo::Cached;
        }
        let undid = entry.and_then(|e| match &e.forward {
            Some(Ok(effect)) if !e.confirmed && e.undone != Some(true) => Some(effect.clone()),
            _ => None,
        });
        let empty = entry.is_none_or(|e| e.forward.is_none());
        Undo::Act(if tentative {
            SvcRecord::Cancelled { key, undid, empty }
        } else {
            SvcRecord::Compensated { key, undid, empty }
        })
    }

    /// A TCC confirm.
    pub fn confirm(&self, step: Step, order: &Order, rules: &Rules<'_>) -> Confirm {
        let key = order.key(step);
        match self.table.get(&key) {
            Some(e) if e.confirmed && rules.idempotency => Confirm::Cached,
            Some(Entry { forward: Some(Ok(effect)), undone: None, .. }) => {
                Confirm::Act(SvcRecord::Confirmed { key, effect: effect.clone() })
            }
            _ => Confirm::NotTried,
        }
    }

    /// Effects applied twice: each key's forward effect, undo and confirm at most once.
    pub fn double_effects(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, e) in &self.table {
            for (n, what) in
                [(e.applies, "applied"), (e.undos, "undone"), (e.confirms, "confirmed")]
            {
                if n > 1 {
                    let effect = match &e.forward {
                        Some(Ok(eff)) => format!(" ({eff})"),
                        _ => String::new(),
                    };
                    out.push(format!("{k} was {what} {n} times{effect}"));
                }
            }
        }
        out
    }

    /// Money and stock conservation: the data equals what the dedup table accounts for —
    /// initial amounts minus each key's live effect counted once — and nothing is negative.
    pub fn conservation(&self, step: Step, rules: &Rules<'_>) -> Vec<String> {
        let mut expect = Books::initial(step, rules);
        for e in self.table.values() {
            if let Some(Ok(effect)) = &e.forward {
                if e.live() {
                    expect.effect_delta(effect, 1);
                    if e.confirmed {
                        let mut tmp = Books::default();
                        tmp.apply(&SvcRecord::Confirmed {
                            key: Key { saga: SagaId(String::new()), step },
                            effect: effect.clone(),
                        });
                        for (k, v) in tmp.held {
                            add(&mut expect.held, &k, v);
                        }
                        for (k, v) in tmp.sold {
                            add(&mut expect.sold, &k, v);
                        }
                        for (k, v) in tmp.frozen {
                            add(&mut expect.frozen, &k, v);
                        }
                        expect.collected += tmp.collected;
                    }
                }
            }
        }
        let mut out = Vec::new();
        let nonzero = |m: &VecMap<String, i64>| -> VecMap<String, i64> {
            m.iter().filter(|(_, v)| **v != 0).map(|(k, v)| (k.clone(), *v)).collect()
        };
        match step {
            Step::Reserve => {
                for (item, n) in &self.stock {
                    let want = expect.stock.get(item).copied().unwrap_or(0);
                    if *n != want {
                        out.push(format!(
                            "{item}: {n} available, but the dedup table accounts for {want}"
                        ));
                    }
                    if *n < 0 {
                        out.push(format!("{item}: stock is {n} (oversold)"));
                    }
                }
                if nonzero(&self.held) != nonzero(&expect.held) {
                    out.push("held units differ from the live holds in the dedup table".into());
                }
            }
            Step::Charge => {
                for (user, n) in &self.balances {
                    let want = expect.balances.get(user).copied().unwrap_or(0);
                    if *n != want {
                        out.push(format!(
                            "{user}'s balance is {n}, but the dedup table accounts for {want}"
                        ));
                    }
                    if *n < 0 {
                        out.push(format!("{user}'s balance is {n} (overdrawn)"));
                    }
                }
                if self.collected != expect.collected {
                    out.push(format!(
                        "the merchant holds {}, but the dedup table accounts for {}",
                        self.collected, expect.collected
                    ));
                }
                if nonzero(&self.frozen) != nonzero(&expect.frozen) {
                    out.push("frozen money differs from the live tries in the dedup table".into());
                }
            }
            Step::Ship => {}
        }
        out
    }

    /// The card's fields: the service's local data (stock, balances, shipments).
    pub fn fields(&self, step: Step) -> Vec<(String, String)> {
        let list = |m: &VecMap<String, i64>| -> String {
            let v: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
            if v.is_empty() {
                "none".into()
            } else {
                v.join(", ")
            }
        };
        let mut f = Vec::new();
        match step {
            Step::Reserve => {
                f.push(("stock".into(), list(&self.stock)));
                if self.held.values().any(|v| *v != 0) || self.sold.values().any(|v| *v != 0) {
                    f.push(("held".into(), list(&self.held)));
                    f.push(("sold".into(), list(&self.sold)));
                }
            }
            Step::Charge => {
                f.push(("balances".into(), list(&self.balances)));
                if self.frozen.values().any(|v| *v != 0) {
                    f.push(("frozen".into(), list(&self.frozen)));
                }
                f.push(("collected".into(), self.collected.to_string()));
            }
            Step::Ship => {
                let v: Vec<String> = self
                    .shipments
                    .iter()
                    .map(|(k, s)| {
                        format!(
                            "{k} {}",
                            serde_json::to_value(s)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                f.push((
                    "shipments".into(),
                    if v.is_empty() { "none".into() } else { v.join(", ") },
                ));
            }
        }
        f
    }

    /// The dedup table as the card shows it: one row per key with the cached result and
    /// how many repeats were answered from it since the last restart (`hits`; empty: none).
    pub fn dedup_table(&self, hits: &VecMap<Key, u32>) -> Table {
        let mut t = Table::new(DEDUP_TABLE, &["key", "result", "repeats"]);
        for (k, e) in &self.table {
            let repeats = hits.get(k).filter(|n| **n > 0).map_or(String::new(), |n| n.to_string());
            t.push(vec![k.to_string(), e.describe(), repeats]);
        }
        t
    }
}
