"""A request that read a token's user and groups before a change to them (here, a role
taken away while it ran) cannot put the token in the fast ensure path's cache after the
change: the change moved the cache's generation on."""

import pytest
from django.contrib.auth.models import Group
from knox.models import AuthToken

from dashboard import token_cache
from dashboard.auth import BearerTokenAuthentication

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refuses_a_fill_read_before_a_change(operator) -> None:
    token_cache.forget_all()
    _, token = AuthToken.objects.create(user=operator)
    user, auth_token = BearerTokenAuthentication().authenticate_credentials(token.encode())

    operator.groups.remove(Group.objects.get(name="operator"))  # meanwhile, elsewhere
    token_cache.remember(auth_token, user)  # the request, done with its (old) checks
    assert token_cache.known(auth_token.digest) is None

    user, auth_token = BearerTokenAuthentication().authenticate_credentials(token.encode())
    token_cache.remember(auth_token, user)  # read after the change: the generation matches
    assert token_cache.known(auth_token.digest) is not None
