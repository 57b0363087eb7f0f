"""What each channel can do, declared once and read by the core.

A channel is a registered name (``sim``, ``twilio``, ``telegram``) with its
:class:`Capabilities`: whether it is SMS or a chat app, how long a text may be, whether it
shows buttons and files, whether its messages cost by the segment, what a refused send
means, and which identity it addresses people by. The router, delivery, the sender, the
SMS cost and the results' labels read these records instead of naming channels, so a new
channel is its module plus its record; none of them changes.

The channels Sanal ships are registered here: existing databases hold their names, and a
few handlers still speak of one of them by name (``Channel.TELEGRAM``). Any other channel
registers itself with :func:`register` when its module is imported, the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

# The identity SMS channels address people by: their phone number, kept on the person
# (people.phone). Chat channels address people by an identity of their own kind
# (storage.identities), whose name is also the scheme of their addresses (telegram:123).
PHONE = "phone"
PHONE_SCHEME = "tel"


class Kind(StrEnum):
    SMS = "sms"
    CHAT = "chat"


class Blocked(StrEnum):
    """What a provider refusing a send for good (``Outcome.OPTED_OUT``) means."""

    OPTED_OUT = "opted_out"  # the person said STOP to the number: no broadcasts any more
    UNREACHABLE = "unreachable"  # the account blocked the bot: that identity is unusable


@dataclass(frozen=True, slots=True)
class Capabilities:
    name: str  # the channel's name in the inbox, outbox and audit rows
    kind: Kind
    label: str  # its name in results and reports ("SMS", "Telegram")
    identity: str  # PHONE, or the identity kind it addresses people by
    blocked: Blocked
    # Characters a text may have; None: SMS texts are fitted to the segment budget of the
    # settings, a chat channel without a limit splits long texts itself.
    max_text: int | None = None
    buttons: bool = False  # inline buttons and the shared contact: the button flow
    documents: bool = False  # files (a report's PDF) sent as such
    priced_per_segment: bool = False  # each SMS segment is paid for: counted in SMS cost
    training: bool = False  # the simulator: reaches nobody real
    # Messages a minute a person may send before the flood limit, times the setting: on
    # a channel where no bot can write to us, and a ballot is a dozen button taps.
    flood_factor: int = 1

    def __post_init__(self) -> None:
        if self.kind is Kind.SMS and self.identity != PHONE:
            raise ValueError(f"SMS channel {self.name} must address people by phone")
        if self.kind is Kind.CHAT and self.identity == PHONE:
            raise ValueError(f"chat channel {self.name} needs an identity kind of its own")

    @property
    def is_sms(self) -> bool:
        return self.kind is Kind.SMS

    @property
    def scheme(self) -> str:
        """The scheme of this channel's addresses: tel:+976..., telegram:123."""
        return PHONE_SCHEME if self.identity == PHONE else self.identity

    def address_of(self, account: str) -> str:
        """The address of an account (a phone number, a Telegram user id) here."""
        return f"{self.scheme}:{account}"

    def account_of(self, address: str) -> str:
        return address.removeprefix(f"{self.scheme}:")


class Channel(str):
    """A registered channel's name: where a message came from and where its reply goes.

    Values are registered once (:func:`register`) and shared, so ``is`` compares them as
    it did enum members; ``Channel("twilio")`` finds a registered one, or raises
    ValueError as an enum would."""

    __slots__ = ()
    SIMULATOR: ClassVar[Channel]
    TWILIO: ClassVar[Channel]
    ANDROID: ClassVar[Channel]
    TELEGRAM: ClassVar[Channel]

    def __new__(cls, name: str) -> Channel:
        found = _CHANNELS.get(name)
        if found is None:
            raise ValueError(f"{name!r} is not a registered channel")
        return found

    def __repr__(self) -> str:
        return f"Channel({str.__str__(self)!r})"

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def caps(self) -> Capabilities:
        return _CAPS[self]

    @property
    def is_sms(self) -> bool:
        return self.caps.is_sms


_CHANNELS: dict[str, Channel] = {}
_CAPS: dict[str, Capabilities] = {}


def register(caps: Capabilities) -> Channel:
    """Make a channel known; registering the same record again returns the same value."""
    known = _CAPS.get(caps.name)
    if known is not None:
        if known != caps:
            raise ValueError(f"channel {caps.name} is registered with other capabilities")
        return _CHANNELS[caps.name]
    channel = str.__new__(Channel, caps.name)
    _CHANNELS[caps.name] = channel
    _CAPS[caps.name] = caps
    return channel


def capabilities(name: str) -> Capabilities:
    """The record of a registered channel; ValueError for any other name."""
    try:
        return _CAPS[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a registered channel") from None


def registered() -> list[Capabilities]:
    """Every registered channel, in the order registered."""
    return list(_CAPS.values())


def sms_names() -> list[str]:
    return [c.name for c in _CAPS.values() if c.is_sms]


def for_identity(kind: str) -> Capabilities | None:
    """The chat channel that addresses people by this identity kind (the first one)."""
    return next((c for c in _CAPS.values() if c.identity == kind and not c.is_sms), None)


def label(name: str) -> str:
    """A channel's label in results; an unknown name (an old row) stands for itself."""
    caps = _CAPS.get(name)
    return caps.label if caps is not None else name


class _Labels(Mapping[str, str]):
    """{channel: label} over the registry as it is when read (a channel registered later
    is in it)."""

    def __getitem__(self, name: str) -> str:
        return _CAPS[name].label

    def __iter__(self) -> Iterator[str]:
        return iter(list(_CAPS))

    def __len__(self) -> int:
        return len(_CAPS)


LABELS: Mapping[str, str] = _Labels()


def _sms(name: str, *, training: bool = False) -> Capabilities:
    # The simulator is priced too: training shows what the same SMS would cost.
    return Capabilities(
        name,
        Kind.SMS,
        label="SMS",
        identity=PHONE,
        blocked=Blocked.OPTED_OUT,
        priced_per_segment=True,
        training=training,
    )


Channel.SIMULATOR = register(_sms("sim", training=True))
Channel.TWILIO = register(_sms("twilio"))
Channel.ANDROID = register(_sms("android"))
Channel.TELEGRAM = register(
    Capabilities(
        "telegram",
        Kind.CHAT,
        label="Telegram",
        identity="telegram",
        blocked=Blocked.UNREACHABLE,
        buttons=True,
        documents=True,
        flood_factor=4,
    )
)
