"""Records for tests, written straight to the tables (no service, no audit row), with what a field
needs filled in: organisations, people, cases, their steps and contacts, referrals and takedown items.

A test that is about a service calls the service; a factory makes the world around it.
"""

import factory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Organisation, User
from accounts.roles import Role
from cases.models import Case, CasePlatform, Contact, ResponseStep, StepType, Term, Vocabulary
from referrals.models import Agency, AgencyKind, Consent, Referral, ReferralKind, ReferralStatus, TakedownItem

PASSWORD = "correct horse battery staple"


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Helpline {n}")
    country = "IT"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.WORKER
    is_staff = factory.LazyAttribute(lambda o: o.role == Role.ADMINISTRATOR)
    password = factory.django.Password(PASSWORD)


class TOTPDeviceFactory(factory.django.DjangoModelFactory[TOTPDevice]):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "authenticator"
    confirmed = True


class TermFactory(factory.django.DjangoModelFactory[Term]):
    """A shared term unless an organisation is given."""

    class Meta:
        model = Term
        django_get_or_create = ["vocabulary", "code", "organisation"]

    vocabulary = Vocabulary.PLATFORM
    code = factory.Sequence(lambda n: f"term-{n}")
    label = factory.LazyAttribute(lambda o: o.code.replace("-", " ").capitalize())
    organisation = None


class StepTypeFactory(factory.django.DjangoModelFactory[StepType]):
    class Meta:
        model = StepType
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"step-{n}")
    label = factory.LazyAttribute(lambda o: o.code.replace("-", " ").capitalize())


class AgencyFactory(factory.django.DjangoModelFactory[Agency]):
    """A shared agency unless an organisation is given."""

    class Meta:
        model = Agency
        django_get_or_create = ["code", "organisation"]

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").capitalize())
    kind = AgencyKind.POLICE
    organisation = None


class CaseFactory(factory.django.DjangoModelFactory[Case]):
    """A case first contacted now, created by a worker of its organisation and assigned to nobody.

    ``platforms=[(term, role), ...]`` adds its platforms; the many-valued facts (``demands=[...]`` and the
    like) are set as on any Django model factory.
    """

    class Meta:
        model = Case
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    reference = factory.Sequence(lambda n: f"T-{n:05d}")
    created_by = factory.SubFactory(UserFactory, organisation=factory.SelfAttribute("..organisation"))
    first_contact_at = factory.LazyFunction(timezone.now)

    demands = factory.PostGeneration(lambda case, create, terms: _set_terms(case, "demands", terms))
    approaches = factory.PostGeneration(lambda case, create, terms: _set_terms(case, "approaches", terms))
    content_types = factory.PostGeneration(lambda case, create, terms: _set_terms(case, "content_types", terms))
    threats = factory.PostGeneration(lambda case, create, terms: _set_terms(case, "threats", terms))
    platforms = factory.PostGeneration(lambda case, create, platforms: _add_platforms(case, platforms))


def _set_terms(case: Case, name: str, terms: list[Term] | None) -> None:
    if terms:
        getattr(case, name).set(terms)


def _add_platforms(case: Case, platforms: list[tuple[Term, str]] | None) -> None:
    for platform, role in platforms or []:
        CasePlatform.objects.create(case=case, platform=platform, role=role)


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    case = factory.SubFactory(CaseFactory)
    at = factory.SelfAttribute("case.first_contact_at")
    worker = factory.SelfAttribute("case.created_by")
    channel = factory.SubFactory(TermFactory, vocabulary=Vocabulary.CHANNEL, code="phone")  # the shared term


class ResponseStepFactory(factory.django.DjangoModelFactory[ResponseStep]):
    class Meta:
        model = ResponseStep

    case = factory.SubFactory(CaseFactory)
    step_type = factory.SubFactory(StepTypeFactory)


class ReferralFactory(factory.django.DjangoModelFactory[Referral]):
    """A referral to the police, owned by the case's creator: a draft, or sent now with the victim's consent
    when ``status`` says it has gone out."""

    class Meta:
        model = Referral

    case = factory.SubFactory(CaseFactory)
    kind = ReferralKind.POLICE
    agency = factory.SubFactory(AgencyFactory)
    owner = factory.SelfAttribute("case.created_by")
    created_by = factory.SelfAttribute("owner")
    status = ReferralStatus.DRAFT
    consent = factory.LazyAttribute(lambda o: "" if o.status == ReferralStatus.DRAFT else Consent.VICTIM)
    sent_at = factory.LazyAttribute(lambda o: None if o.status == ReferralStatus.DRAFT else timezone.now())


class TakedownItemFactory(factory.django.DjangoModelFactory[TakedownItem]):
    class Meta:
        model = TakedownItem

    referral = factory.SubFactory(ReferralFactory, kind=ReferralKind.TAKEDOWN, agency__kind=AgencyKind.REGULATOR)
    platform = factory.SubFactory(TermFactory, vocabulary=Vocabulary.PLATFORM)
    link = factory.Sequence(lambda n: f"https://example.org/item/{n}")
    content_type = "image"
