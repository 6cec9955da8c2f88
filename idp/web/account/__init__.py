"""The user's own account (README, "Account self-service"; manual chapter 5): the account page
with its actions, and confirming a new email address from its link."""
