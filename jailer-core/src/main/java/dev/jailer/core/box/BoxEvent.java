package dev.jailer.core.box;

/**
 * A change of one box, delivered to watchers.
 *
 * @param box the box after the change (for a removal: its last known state)
 * @param removed whether the box was removed
 */
public record BoxEvent(BoxView box, boolean removed) {}
