//! The order in which kinds move, from what the source reads and the target writes.

use switchover_adapter::Capabilities;
use switchover_model::Kind;

/// Which kinds a run moves, in dependency order, and which it cannot, with why.
#[derive(Debug, Clone, Default)]
pub struct KindPlan {
    /// Kinds that move, in dependency order.
    pub moves: Vec<Kind>,
    /// Kinds asked for that cannot move, with the reason.
    pub left_behind: Vec<(Kind, String)>,
}

/// Plans the kinds of a run: `wanted` filtered to what both sides support, ordered so a
/// kind moves only after every kind it can reference.
pub fn plan_kinds(wanted: &[Kind], source: &Capabilities, target: &Capabilities) -> KindPlan {
    let mut plan = KindPlan::default();
    for kind in Kind::ALL {
        if !wanted.contains(&kind) || !kind.is_streamed() {
            continue;
        }
        if !source.supports(kind, "read") {
            plan.left_behind
                .push((kind, format!("{} does not read {kind}", source.adapter)));
        } else if !target.supports(kind, "write") {
            plan.left_behind
                .push((kind, format!("{} does not write {kind}", target.adapter)));
        } else {
            plan.moves.push(kind);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchover_adapter::KindCapability;

    #[test]
    fn kinds_move_in_dependency_order_and_unsupported_ones_are_explained() {
        let mut source = Capabilities::new("src");
        let mut target = Capabilities::new("dst");
        for kind in [Kind::Ticket, Kind::User, Kind::Macro, Kind::Organization] {
            source.kinds.insert(kind, KindCapability::everything(kind));
        }
        for kind in [Kind::Ticket, Kind::User, Kind::Organization] {
            target.kinds.insert(kind, KindCapability::everything(kind));
        }
        let plan = plan_kinds(
            &[
                Kind::Macro,
                Kind::Ticket,
                Kind::Organization,
                Kind::User,
                Kind::View,
            ],
            &source,
            &target,
        );
        assert_eq!(plan.moves, [Kind::Organization, Kind::User, Kind::Ticket]);
        let reasons: Vec<String> = plan
            .left_behind
            .iter()
            .map(|(k, r)| format!("{k}: {r}"))
            .collect();
        assert_eq!(
            reasons,
            [
                "macros: dst does not write macros",
                "views: src does not read views"
            ]
        );
    }
}
