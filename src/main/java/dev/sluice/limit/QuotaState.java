package dev.sluice.limit;

/** Whether a backend is within its token budget (see {@link QuotaGuard}). */
public enum QuotaState {
  /** Traffic goes as the other limits allow. */
  WITHIN_QUOTA,
  /** Held back except for one probe request every probe interval. */
  QUOTA_EXCEEDED
}
