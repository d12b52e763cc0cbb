package dev.sluice.limit;

/** A backend's retreat state, as reported in status and metrics (NORMAL 0, RETREAT 1, RECOVER 2). */
public enum RetreatState { NORMAL, RETREAT, RECOVER }
