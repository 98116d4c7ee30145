"""The functional test suite (HateCheck spirit): one functionality per group of cases.

Written apart from the seed templates, with its own sentences, names and slot values, so it
checks behaviour out of template. Each functionality mixes hand-written cases with a few
small templates.
"""

from __future__ import annotations

import random

from .fill import fill_template
from .obfuscate import obfuscate

SEED = "harassflag-functional-2026-11"
MIN_CASES = 25
TARGET_CASES = 30

F_SLOTS: dict[str, list[str]] = {
    "fname": [
        "Quenby",
        "Ilsa",
        "Mireva",
        "Anouk",
        "Briar",
        "Caspian",
        "Elodie",
        "Ferris",
        "Hollis",
        "Ines",
        "Koa",
        "Linnea",
        "Noor",
        "Orla",
        "Pim",
        "Ravi",
        "Soren",
        "Thea",
    ],
    "fmention": [
        "@cinderpaw",
        "@mossy.keys",
        "@velvetbyte",
        "@lanternfish",
        "@hollis_irl",
        "@orla.art",
        "@gravelgoose",
        "@nightjar_tv",
    ],
    "ftime": [
        "on Saturday",
        "after your shift",
        "before sunrise",
        "when class ends",
        "this evening",
        "at the tournament",
    ],
}

# functionality -> (harassment label, hand-written cases, (templates, slots))
FUNCTIONALITIES: dict[str, tuple[int, list[str], list[str], dict[str, list[str]]]] = {}


def _f(
    name: str, label: int, cases: list[str], templates: list[str], slots: dict[str, list[str]]
) -> None:
    FUNCTIONALITIES[name] = (label, cases, templates, slots)


_f(
    "threat_no_profanity",
    1,
    [
        "I'm going to hurt you when I find you",
        "you have until midnight before I come to your house",
        "I'll be outside your school on Monday, you'll see",
        "say that to my face and you won't walk away",
        "I hope you like hospitals, because that's where you're going",
        "watch yourself on the way home tonight",
        "one day you'll open your door and I'll be standing there",
        "keep posting and I'll make you regret it in person",
        "I'm bringing a knife next time we meet",
        "you're going to get hurt and you'll deserve it",
        "your family should start worrying about you",
        "I'll break every finger you type with",
        "I know your schedule. Thursday is going to be a bad day for you",
        "don't be surprised if your tires are slashed tomorrow",
        "when I catch you there won't be enough left to recognise",
    ],
    [
        "{fname}, I am going to {hurt} you {ftime}",
        "{fmention} if I see you {ftime} I will {hurt} you",
        "you'll need an ambulance {ftime}, {fname}",
    ],
    {"hurt": ["hurt", "strangle", "stab", "choke", "beat", "kill"]},
)

_f(
    "sexual_coercion",
    1,
    [
        "send me a photo in your underwear or I tell your parents about us",
        "if you want the promotion you'll come up to my hotel room",
        "you can have the lead role if you spend the night with me",
        "I won't stop messaging until you show me more skin",
        "take your top off on stream or I leak our DMs",
        "you owe me, so get on cam and undress",
        "do what I want tonight or the video goes online",
        "one little nude and I'll delete everything, deal?",
        "sleep with me or I'll tell everyone you did anyway",
        "I'll give your account back after you send a naked pic",
        "you'll do it because nobody would believe you over me",
        "be a good girl and show me what you've got",
        "no pics, no recommendation letter. your choice",
    ],
    [
        "{fname}, send me a {pic} or I {consequence}",
        "{fmention} {favour} if you want me to {reward}",
    ],
    {
        "pic": ["nude", "topless photo", "video of you undressing", "pic in the shower"],
        "consequence": [
            "tell your boyfriend",
            "share our chats",
            "get you fired",
            "leak your address",
        ],
        "favour": ["come to my room tonight", "undress on cam", "send me something private"],
        "reward": [
            "keep your secret",
            "let you back in the clan",
            "approve your shift",
            "stay quiet",
        ],
    },
)

_f(
    "doxxing_threat",
    1,
    [
        "I found your mom's facebook, should I say hello?",
        "your home address is going in the channel description",
        "I know which apartment is yours now",
        "posting your full name and workplace unless you apologise",
        "I found your kid's soccer team photo",
        "everyone's going to know your phone number by tonight",
        "got your license plate, tracking down the rest now",
        "I matched your selfie to your work profile, hi there",
        "your landlord's number is in my notes",
        "I'll send your browser history to your wife",
        "keep talking and I'll put your address on every forum I know",
        "funny how easy it was to find your parents' house",
    ],
    [
        "{fname}, I'm posting your {info} {ftime}",
        "{fmention} I have your {info} and I'm sharing it with {audience}",
    ],
    {
        "info": ["home address", "phone number", "real name", "workplace", "parents' address"],
        "audience": ["the whole guild", "your boss", "everyone you know", "the subreddit"],
    },
)

_f(
    "direct_insult",
    1,
    [
        "you're the most brainless person in this lobby",
        "nobody is as irritating as you, you pest",
        "your head is an empty room, genuinely",
        "@velvetbyte you are a sad little gremlin",
        "you absolute walnut, you ruined the whole run",
        "what an insufferable halfwit you are",
        "you're a disgrace at everything you touch",
        "you smell like failure and cheap energy drinks",
        "honestly you're the dumbest thing I've seen all week",
        "you couldn't find your way out of a paper bag, idiot",
        "your opinions are as worthless as you are",
        "crawl back under your rock, you slimy creep",
    ],
    [
        "{fname} you {fadj} {fnoun}",
        "{fmention}, you are a {fadj} {fnoun} and always will be",
    ],
    {
        "fadj": ["brainless", "hopeless", "gutless", "smug", "miserable", "dimwitted"],
        "fnoun": ["halfwit", "buffoon", "nitwit", "numpty", "weasel", "sack of garbage"],
    },
)

_f(
    "exclusion",
    1,
    [
        "nobody invited you, so get out of the call",
        "you don't fit in here, go away",
        "pack up and leave the guild, we're done with you",
        "we'd all be happier if you quit the team",
        "there's no seat for you at our table, ever",
        "go away, nobody here wants your company",
        "we voted and you're out, goodbye forever",
        "stop showing up to our meetups, nobody wants you there",
        "this community doesn't want you, find another one",
        "please just stop coming to practice, we're better without you",
        "every single person here wishes you'd leave",
    ],
    [
        "{fname}, leave the {group}. nobody wants you in it",
        "{fmention} get out of our {group}, you're not welcome",
        "{fname} you'll never be part of this {group}, so go",
    ],
    {"group": ["guild", "study group", "band", "squad", "lunch table", "clan"]},
)

_f(
    "self_harm_encouragement",
    1,
    [
        "go end it all, nobody will stop you",
        "you should just stop existing",
        "do the world a favour and never wake up",
        "the best thing you could do is disappear forever",
        "take the whole bottle tonight",
        "why are you even still alive",
        "you'd be doing everyone a kindness if you died",
        "jump already, coward",
        "just step in front of a train and spare us",
        "everyone would throw a party if you killed yourself",
        "you're a waste of air, fix that permanently",
    ],
    [
        "{fname}, just {method} already",
        "{fmention} nobody would cry if you {method2}",
    ],
    {
        "method": [
            "end your life",
            "take the pills",
            "jump off the roof",
            "stop breathing",
            "off yourself",
        ],
        "method2": ["died tonight", "ended it", "were gone tomorrow", "hanged yourself"],
    },
)

_f(
    "untargeted_profanity",
    0,
    [
        "fuck this printer, seriously",
        "shit, the train is cancelled",
        "damn it, burned the toast again",
        "best fucking day ever, we're engaged!",
        "this weather is fucking wild",
        "fuck it, I'm ordering pizza",
        "bloody hell, my phone died",
        "wtf is this patch lmao",
        "that's some good shit right there",
        "I fucking love this song",
        "oh shit, the server's back up!",
        "what a shitshow of a commute",
        "god damn, that was a close one",
    ],
    [
        "{fexcl}, {event}!",
        "{event}, {fexcl}",
    ],
    {
        "fexcl": ["holy shit", "fuck yeah", "damn", "hell yes", "oh fuck"],
        "event": [
            "the package finally arrived",
            "my exam went great",
            "we hit 1000 followers",
            "the bus actually came on time",
            "I got the tickets",
        ],
    },
)

_f(
    "self_deprecation",
    0,
    [
        "I'm a complete moron for forgetting my own birthday dinner",
        "honestly I'm the dumbest person alive today",
        "what kind of idiot leaves their passport at home? this one",
        "I'm so pathetic, I cried at a dog food ad",
        "my stupid brain can't do basic math",
        "I'm trash at aiming, sorry team",
        "I look like a potato in every photo, lol",
        "I'm a useless lump before coffee",
        "ugh, I'm such a fool for believing that",
        "I'm a mess, ignore my typos",
        "I'm the worst friend, I forgot to call you back",
    ],
    [
        "I'm such a {fnoun}, I {mistake}",
        "{mistake}? yeah, that's me, the world's biggest {fnoun}",
    ],
    {
        "fnoun": ["idiot", "moron", "dummy", "clown", "fool", "dumbass"],
        "mistake": [
            "missed my own stop",
            "deleted the wrong folder",
            "wore my shirt inside out all day",
            "forgot to hit save",
            "sent the email to the whole company",
        ],
    },
)

_f(
    "negation",
    0,
    [
        "you are not an idiot",
        "nobody should call you stupid",
        "you're not a loser, you're learning",
        "no one here thinks you're worthless",
        "you aren't pathetic for asking for help",
        "I'd never call you a moron",
        "you're not annoying, I promise",
        "no way you're a failure",
        "you're not useless, you fixed the bug!",
        "nobody thinks you should leave",
        "I'm not going to hurt you, I'm just here to help",
        "it's not your fault and you're not dumb",
    ],
    [
        "{fname}, you are not {fneg}",
        "nobody should call you {fneg}, {fname}",
        "{fmention} I don't think you're {fneg} at all",
    ],
    {"fneg": ["an idiot", "stupid", "a loser", "worthless", "a burden", "a failure", "ugly"]},
)

_f(
    "quoting_reporting",
    0,
    [
        "a user in voice called me a stupid cow, reporting him now",
        "he wrote 'I'll find you' under my post, so I went to the police",
        "mods: screenshot attached of him saying 'go die'",
        "my teammate got told 'nobody wants you' and quit, this needs action",
        "the message literally said 'I will hurt you', is that not enough for a ban?",
        "someone commented 'ugly whore' on my sister's selfie, reported",
        "I got 'send pics or I expose you' from a stranger, blocked him",
        "she told HR that her manager called her a dumb bimbo",
        "they told my son to kill himself in the game chat, we contacted support",
        "filed a report: the account keeps posting my address",
        "in the DM he called me a worthless idiot, so I'm done with that server",
    ],
    [
        "{fname} sent me '{fquote}' so I blocked and reported",
        "reporting {fmention} for writing '{fquote}' in the lobby",
    ],
    {
        "fquote": [
            "you're a useless cow",
            "I'll hurt you",
            "leave or else",
            "show me your body",
            "go kill yourself",
            "nobody likes you, loser",
        ]
    },
)

_f(
    "counter_speech",
    0,
    [
        "telling someone to die is not okay, ever",
        "stop calling her names, that's harassment",
        "you can't post people's addresses here, that's doxxing",
        "threatening people over a game is not acceptable, knock it off",
        "she's not a slut, and you should apologise",
        "leave him alone, he didn't do anything",
        "if you wouldn't say it to their face, don't type it",
        "mocking someone's religion isn't a joke",
        "we don't tolerate telling people to kill themselves here",
        "being trans is not a punchline",
        "harassing her until she logs off isn't funny",
    ],
    [
        "{fname}, please stop {bad}, it's not okay",
        "{fmention} quit {bad}. that's harassment and you know it",
    ],
    {
        "bad": [
            "mocking her accent",
            "sending him threats",
            "spamming her inbox",
            "calling people slurs",
            "posting her photos",
            "telling people to leave",
        ]
    },
)

_f(
    "idioms",
    0,
    [
        "you crushed that interview!",
        "she absolutely slayed at karaoke",
        "I'm going to annihilate you at scrabble tonight",
        "that comedian killed, I was crying",
        "we demolished the other team",
        "you're killing me with these puns",
        "he murdered that guitar solo",
        "break a leg at the audition!",
        "this heat is murder",
        "I'll beat you at ping pong, just wait",
        "my legs are dead after leg day",
        "that trailer blew me away",
    ],
    [
        "{fname}, you {slay} that {thing}",
        "{fmention} totally {slay} the {thing}, wow",
    ],
    {
        "slay": ["killed", "murdered", "destroyed", "nailed", "smashed"],
        "thing": ["audition", "speedrun", "presentation", "solo", "exam", "boss fight"],
    },
)

_f(
    "technical",
    0,
    [
        "kill all the stale sessions before the deploy",
        "you need to execute the migration script first",
        "the child process gets killed when the parent dies",
        "terminate the thread pool on shutdown",
        "run kill -15 first, then kill -9 if it ignores it",
        "the job aborts when the disk fills up",
        "nuke node_modules and reinstall",
        "the supervisor restarts any worker that crashes",
        "force-kill the emulator and wipe its data",
        "reap the zombie processes with waitpid",
        "the fork bomb took down the shared runner",
    ],
    [
        "{fverb} the {fproc} on {fhost}",
        "can you {fverb} the {fproc}? it's eating all the RAM on {fhost}",
    ],
    {
        "fverb": ["kill", "restart", "terminate", "kill -9", "shoot down"],
        "fproc": ["cron job", "stuck worker", "build agent", "indexer", "orphaned shell"],
        "fhost": ["node-7", "the CI box", "gpu-2", "the jump host"],
    },
)

_f(
    "neutral_identity",
    0,
    [
        "my husband is Jewish and we celebrate both holidays",
        "as a trans woman, I loved this episode",
        "my neighbours are Muslim and invited us for iftar",
        "I'm gay and my dad just came to his first Pride",
        "as an immigrant I found the citizenship test interesting",
        "she's deaf and teaches the rest of us sign language",
        "my best friend is Black and a brilliant engineer",
        "I'm a wheelchair user and the venue was fully accessible",
        "our guild leader is a Mexican grandma and she's amazing",
        "as a Sikh, I wear a turban every day",
        "my girlfriend is bisexual and a huge board game nerd",
    ],
    [
        "my {rel} is {fid} and {nice}",
        "as a {fid} person, I think {opinion}",
    ],
    {
        "rel": ["sister", "boss", "roommate", "teammate", "neighbour"],
        "fid": ["Muslim", "Jewish", "gay", "trans", "Mexican", "disabled", "Korean", "queer"],
        "nice": [
            "loves this game",
            "makes amazing bread",
            "is coming to the party",
            "just got promoted",
        ],
        "opinion": [
            "the new map is great",
            "the festival was well organised",
            "this book is underrated",
        ],
    },
)

OBFUSCATION_FUNCTIONALITIES = {
    "obf_leet": "leet",
    "obf_masked": "masked",
    "obf_spaced": "spaced",
    "obf_elongated": "elongated",
    "obf_homoglyph": "homoglyph",
    "obf_zero_width": "zero_width",
}

OBFUSCATION_BASES: list[str] = [
    "you are a useless idiot",
    "kill yourself tonight",
    "I will hurt you",
    "nobody wants you in this guild",
    "shut up you stupid loser",
    "send me nudes now",
    "I know your address",
    "go die somewhere",
    "you fucking moron",
    "everyone spam her with hate",
    "you worthless piece of trash",
    "I'm coming to your house",
    "leave the server you freak",
    "I'll leak your photos",
    "you ugly bitch nobody likes you",
    "jump off a roof",
    "I will stab you",
    "you pathetic clown",
    "get out of here loser",
    "I'll beat you up after class",
    "show me your body or else",
    "you dumb slut",
    "I'm watching you every day",
    "drink bleach and die",
    "your address is going public",
    "you are a worthless failure",
    "shut your mouth idiot",
    "I'll shoot you",
    "die in a fire",
    "stupid whore",
]


def _expand(
    templates: list[str], slots: dict[str, list[str]], need: int, rng: random.Random, seen: set[str]
) -> list[str]:
    """Fill small templates until `need` new distinct texts exist (or the space is exhausted)."""
    all_slots = {**F_SLOTS, **slots}
    out: list[str] = []
    attempts = 0
    while len(out) < need and attempts < need * 50:
        attempts += 1
        template = templates[attempts % len(templates)]
        text = fill_template(template, all_slots, rng)
        key = " ".join(text.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out


def build_functional_cases() -> list[dict]:
    """Every functional case as {"functionality", "text", "harassment"}, in a fixed order."""
    cases: list[dict] = []
    for name, (label, handwritten, templates, slots) in FUNCTIONALITIES.items():
        rng = random.Random(f"{SEED}/{name}")
        seen = {" ".join(t.lower().split()) for t in handwritten}
        texts = list(handwritten) + _expand(
            templates, slots, TARGET_CASES - len(handwritten), rng, seen
        )
        cases += [{"functionality": name, "text": t, "harassment": label} for t in texts]
    for name, family in OBFUSCATION_FUNCTIONALITIES.items():
        rng = random.Random(f"{SEED}/{name}")
        for base in OBFUSCATION_BASES:
            text = obfuscate(base, family, rng)
            if text == base:
                raise ValueError(f"{name}: obfuscation left a base case unchanged")
            cases.append({"functionality": name, "text": text, "harassment": 1})
    return cases
