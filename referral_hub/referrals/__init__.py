"""Referrals: the consented, agreement-bound referral and its closed loop."""
