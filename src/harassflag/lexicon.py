"""Word classes the model can generalise through (written by the harassflag team, CC0).

A linear model only knows the words it was trained on. These classes let it learn "an insult aimed
at *you*" once and apply it to insults it has not seen in that position: each token in a class adds
a class feature, and the class feature is also conjoined with the token's target context (after
"you"/@mention, after "I", after a negation, after "he/she/they"). The lists are plain vocabulary,
not phrases from any evaluation set; they are deliberately generic.
"""

from __future__ import annotations

_CLASSES: dict[str, str] = {
    "insult": """
        idiot idiots idiotic moron morons moronic loser losers clown clowns stupid stupidest dumb
        dumbest dumbass dumbasses pathetic worthless useless ugly fat trash garbage creep creepy freak
        freaks bitch bitches asshole assholes retard retarded cretin muppet tool joke waste parasite
        parasites rat rats worm worms npc fraud hack braindead brainless clueless spineless dense
        bellend dipshit twat cunt prick slut sluts whore whores skank hoe hoes scum scumbag
        disgusting annoying weirdo imbecile simp incel troll cow pig pigs dog snake coward liar psycho
        failure fool foolish ignorant incompetent talentless hopeless gross nasty vile lame jerk
        douche douchebag dickhead dick wanker tosser pussy bastard shithead airhead numbskull halfwit
        dimwit nitwit degenerate subhuman vermin filth filthy trashy lowlife stinks smelly hideous
        """,
    "threat": """
        kill killing hurt stab stabbing shoot shooting beat beating punch smash break end murder
        destroy choke strangle bury burn bullet bullets gun knife hunt hunting find catch coming
        regret pay watch careful hospital dead die dying bleed blood slit snap skull throat jaw
        teeth face fists visit waiting behind alone door outside pieces torture suffer ruin wreck
        """,
    "expose": """
        address live lives living leak leaked leaking post posting expose exposed pics photos
        photo pictures nudes screenshots screenshot dms messages video videos number phone boss
        school parents mom dad wife husband employer job family receipts public everyone dox doxx
        doxxed ip location house street apartment apt real name workplace tell send
        """,
    "sexual": """
        nudes nude naked sexy body boobs tits ass butt bed sex sexual touch touching rape raped
        horny hot thighs legs lips kiss bra panties underwear dick cock pussy suck sucking blowjob
        spread knees panty strip undress
        """,
    "self_harm": """
        kys yourself suicide rope jump bridge cut cutting overdose unalive hang hanging noose
        neck pills razor wrists die disappear exist existing breathe breathing
        """,
    "exclusion": """
        leave nobody noone wants wanted welcome unwelcome away get out quit disappear belong
        uninstall log gone banned kick kicked ignored block everyone hates
        """,
    "pile_on": """
        everyone chat guys boys girls raid flood spam mass report reports dms tell let's lets
        go all y'all yall gang squad army followers ratio brigade dogpile
        """,
    "affection": """
        love loves lovely jk kidding bro buddy mate bestie fam sis bff
        ❤ ❤️ 💕 😘 🥰 <3 miss proud thanks thank congrats congratulations hug hugs cute sweet
        friend friends legend king queen goat
        """,
    "reporting": """
        said says called calls told tells reported report screenshot mods mod moderator banned
        suspended blocked quote quoted quoting literally wrote posted dm'd messaged harassed
        harassing harassment bullied bullying abuse abusive threatened threatening slur slurs
        """,
    "technical": """
        process processes thread threads server servers deploy deployment branch commit bug bugs
        build script daemon child parent master abort execute executed execution terminate sudo
        docker git kernel cpu memory job jobs queue node pod container port signal sigkill cron
        function variable loop compile compiler test tests pipeline
        """,
    "achievement": """
        killed killing slayed slay crushed crushing nailed murdered destroyed smashed owned
        rocked won win winning beat bodied carried clutch goat fire lit insane sick
        """,
    "identity": """
        women woman girls men gay gays lesbian trans muslim muslims jew jews jewish black blacks
        white asian asians immigrant immigrants refugee refugees mexican mexicans arab arabs
        christian christians disabled autistic queer latino latina indian indians chinese african
        """,
    "support": """
        sorry support safe okay ok here help helping care hope hopefully better heal healing
        proud strong believe deserve matter matters valid hugs listen
        """,
}

LEXICON_CLASSES: tuple[str, ...] = tuple(_CLASSES)
"""Class names, in feature order."""

TOKEN_CLASSES: dict[str, tuple[int, ...]] = {}
for _i, _name in enumerate(LEXICON_CLASSES):
    for _word in _CLASSES[_name].split():
        TOKEN_CLASSES[_word] = TOKEN_CLASSES.get(_word, ()) + (_i,)
