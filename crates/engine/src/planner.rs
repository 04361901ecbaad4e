//! The order in which kinds move, from what the source reads and the target writes.

use switchover_adapter::Capabilities;
use switchover_adapter::Operation;
use switchover_model::Kind;

/// Which kinds a run moves, in dependency order, and which it cannot, with why.
#[derive(Debug, Clone, Default)]
pub struct KindPlan {
    /// Kinds that move, in dependency order.
    pub moves: Vec<Kind>,
    /// Kinds asked for that cannot move, with the reason.
    pub left_behind: Vec<(Kind, String)>,
    /// Kinds the plan left out but the kinds it moves reference, added so that those
    /// references resolve, with why.
    pub added: Vec<(Kind, String)>,
}

/// Plans the kinds of a run: `wanted` filtered to what both sides support, ordered so a
/// kind moves only after every kind it can reference.
pub fn plan_kinds(wanted: &[Kind], source: &Capabilities, target: &Capabilities) -> KindPlan {
    let mut plan = KindPlan::default();
    let movable = |kind: Kind| {
        kind.is_streamed()
            && source.supports(kind, Operation::Read)
            && target.supports(kind, Operation::Write)
    };
    // Kinds the wanted ones reference, transitively, that both sides can move.
    let mut wanted: Vec<Kind> = wanted.to_vec();
    let mut i = 0;
    while i < wanted.len() {
        let kind = wanted[i];
        i += 1;
        if !movable(kind) {
            continue;
        }
        for needed in kind.references() {
            if !wanted.contains(needed) && movable(*needed) {
                wanted.push(*needed);
                plan.added.push((
                    *needed,
                    format!("added to the plan: {kind} reference {needed}, which would otherwise fail as not on the target"),
                ));
            }
        }
    }
    for kind in Kind::ALL {
        if !wanted.contains(&kind) || !kind.is_streamed() {
            continue;
        }
        if !source.supports(kind, Operation::Read) {
            plan.left_behind
                .push((kind, format!("{} does not read {kind}", source.adapter)));
        } else if !target.supports(kind, Operation::Write) {
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
    fn kinds_the_plan_moves_bring_the_kinds_they_reference_with_a_note() {
        let mut both = Capabilities::new("both");
        for kind in Kind::ALL {
            both.kinds.insert(kind, KindCapability::everything(kind));
        }
        let plan = plan_kinds(&[Kind::Organization, Kind::Comment], &both, &both);
        assert_eq!(
            plan.moves,
            [
                Kind::FieldDefinition,
                Kind::Organization,
                Kind::User,
                Kind::Group,
                Kind::Ticket,
                Kind::Comment
            ]
        );
        let added: Vec<Kind> = plan.added.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            added,
            [Kind::FieldDefinition, Kind::User, Kind::Ticket, Kind::Group]
        );
        assert!(
            plan.added[0]
                .1
                .contains("organizations reference field_definitions")
        );
    }

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
