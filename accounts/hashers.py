"""Password hashing: Argon2id with OWASP's recommended parameters (19 MiB, t=2, p=1).

Django's default Argon2 settings (100 MiB, 8 lanes) cost ~0.3-0.9 s per hash on the small
2-core machines we run on, which is most of a tenant's provisioning time and of every
sign-in; OWASP's first recommended configuration gives the same class of protection.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    algorithm = "argon2owasp"
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
