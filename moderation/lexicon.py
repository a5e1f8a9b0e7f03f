# ruff: noqa: E501  (one regex / one fragment per line reads better than wrapped strings)
"""The safety net: hand-written patterns that must never miss a crisis.

Patterns run on normalised text (see normalise.py), so obfuscations are
already undone.  A match at crisis tier can be *lowered* to concern by a
scope rule (negation, past tense, third person, hyperbole, research, an
ordinary reading of an ambiguous phrase) but is never dropped: the lowered
match stays visible with a "scope" signal saying why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .normalise import Normalised
from .patterns import prefixes

CRISIS = "crisis"
CONCERN = "concern"

_RELATIONS = (
    "friend|best friend|bff|brother|sister|mom|mum|mother|dad|father|son|daughter|partner|husband|wife|"
    "boyfriend|girlfriend|bf|gf|cousin|uncle|aunt|grandma|grandpa|grandmother|grandfather|kid|kids|child|"
    "roommate|flatmate|coworker|co-worker|colleague|student|students|client|patient|teen|teenager|niece|"
    "nephew|neighbou?r|classmate|ex|fiance|fiancee|stepdad|stepmom|family member|buddy|mate|pal"
)
_SELF = re.compile(rf"\b(?:i|i'?m|im|i'?ve|ive|i'?ll|i'?d|me|myself|mine)\b|\bmy\b(?! (?:{_RELATIONS})\b)")


@dataclass(frozen=True, slots=True)
class Rule:
    label: str
    pattern: str
    tier: str = CRISIS
    needs_self: bool = False  # ambiguous words: lowered when clearly about someone else
    requires: str | None = None  # extra context the sentence must contain
    benign: str | None = None  # an ordinary reading that lowers the tier
    weight: float = 0.9


# "pils": the normaliser squeezes a run of one letter to one ("pillls"), and people type it so.
_PILLS = r"(?:pills|pils|meds|medication|medications|tablets|sleeping pills|painkillers|pain killers|oxy|xanax|tylenol|paracetamol|acetaminophen|ibuprofen|aspirin|advil|benadryl|insulin|antidepressants)"
_TRAVEL = r"\b(?:work|school|class|stop|driver|late|ticket|fare|route|commute|station|morning|uni|college|office|downtown|home|missed|\d)\b"
_FAREWELL_OK = (
    r"\b(?:see you|talk (?:to you )?(?:tomorrow|later|soon)|next (?:week|time)|good ?night|logging off|"
    r"heading (?:to bed|out|off)|back (?:soon|later|tomorrow|next)|brb|ttyl|for now|for today|for tonight|"
    r"holiday|vacation|trip|moving|new job|graduat\w*|retir\w*|leaving (?:the|this) (?:job|company|team))"
)
# "this is my last week" of something ordinary: a job, a term, a place, a stage of life.
_LAST_OF_SOMETHING = (
    r"\b(?:at (?:work|uni|school|college|the (?:office|job|old job|company|shop|school|hospital))|"
    r"of (?:term|school|work|uni|the (?:holidays?|course|contract|placement|trip|term|year)|"
    r"my (?:contract|placement|course|holiday|notice|maternity|paternity|leave|job))|"
    r"before (?:the|my|our|we|i (?:start|go back|move|fly|leave for))|"
    r"in (?:the|this|my) (?:office|job|flat|team|role)|on (?:the|this) (?:job|ward|team|project)|"
    r"(?:maternity|paternity|parental|annual) leave|notice period|(?:old|new|current) job|baby|due date|is due|"
    r"off work|contract|placement|holiday|moving|retir\w*)\b"
)
_ACCIDENT = (
    r"\b(?:cook\w*|oven|stove|pan|iron|kitchen|gym|accident\w*|shaving|slipped|fell|tripped|paper|chopping|"
    r"workout|running|football|hike|hiking|soccer|bike|curling iron|straightener|candle|baking|garden\w*|sun ?burn\w*)\b"
)
_DEATH_OUTCOME = (
    r"\b(?:die|dying|dead|death|kill|killed|fatal|lethal|od|overdose|not wake up|never wake up|end it|stop breathing)\b"
)
_DOSING = r"\b(?:headache|migraine|cramps|fever|cold|flu|prescribed|doctor|pharmacist|dosage|per day|a day|daily|normal dose|safe to|instructions|label)\b"
_FICTION = r"\b(?:movie|film|show|series|game|character|scene|episode|book|novel|nosebleed|period|vampire|zombie)\b"
_EVENTS = r"\b(?:wedding|party|meeting|appointment|exam|interview|holiday|vacation|trip|dinner|birthday|move|launch|surgery|court|hearing)\b"

RULES: tuple[Rule, ...] = (
    # direct / active ideation
    Rule("active_ideation", r"\bk+i+l+(?:l|ing|ed|s)? ?my ?self\b", benign=r"\b(?:laugh\w*|lol|lmao)\b"),
    Rule("active_ideation", r"\bkms\b"),
    Rule("active_ideation", r"\b(?:end|ending|ended|take|taking|took) (?:my|my own) (?:life|lives)\b"),
    Rule("active_ideation", r"\b(?:end|ending) it all\b"),
    Rule(
        "active_ideation",
        r"\bend (?:it|things|everything|my suffering) (?:tonight|today|soon|now|for good|this week)\b",
    ),
    Rule("active_ideation", r"\b(?:commit|commiting|committing|comitting) suicide\b", needs_self=True),
    Rule(
        "active_ideation",
        r"\b(?:i'?m|i am|im|i feel|feeling|been|getting|am|i get|got) (?:so |really |very |pretty |extremely |super |kinda |kind of |actively |more |quite |a bit |a little |fucking |fkn |incredibly )?suicidal\b",
    ),
    Rule(
        "active_ideation",
        r"\b(?:thinking|think|thoughts?|thinkin|dreaming|dreams|fantasi[sz]ing|obsessing) (?:a lot |so much |constantly |all day )?(?:about|of) (?:suicide|killing myself|ending it|dying|being dead|death|not being here|not existing)\b",
        needs_self=True,
    ),
    Rule(
        "plan",
        r"\b(?:take|swallow|taking|swallowing) (?:the|my|all the|all my) (?:pills|tablets|meds)\b",
        requires=r"\b(?:plan|tonight|asleep|end|gone|goodbye|enough|last|after everyone|once everyone)\b",
    ),
    Rule(
        "goodbye",
        r"\b(?:for the last time|one last time|a last time)\b",
        needs_self=True,
        requires=r"\b(?:hug\w*|see|saw|said|told|kiss\w*|visit\w*|goodbye|love you|called|texted)\b",
        benign=r"\b(?:put down|vet|passed|died|euthan\w*|moving|move|graduat\w*|last day at|leaving (?:the|my) job)\b",
    ),
    Rule(
        "goodbye",
        r"\b(?:because|since|as|knowing) i (?:won'?t|will not|will never|wont|'?ll never) (?:see|talk to|hug|be with) (?:\w+ ){0,2}(?:again|anymore)\b",
    ),
    Rule("active_ideation", r"\bsuicide (?:is on my mind|seems like|feels like|is the only|is my only|is looking)\b"),
    Rule(
        "active_ideation",
        r"\bsuicidal (?:again|tonight|today|thoughts|ideation|urges|feelings|rn|lately|atm)\b",
        needs_self=True,
    ),
    Rule(
        "active_ideation",
        r"\b(?:want|wanna|ready|going|gonna|plan|planning|deserve|deserves|i just want|i'd like) (?:to )?(?:die|be dead)\b",
        benign=r"\b(?:of (?:embarrassment|shame|laughter|boredom|cringe|cuteness)|lol|lmao|haha\w*|😂|🤣|💀|cringe)\b",
    ),
    Rule("active_ideation", r"\bbetter off dead\b"),
    Rule(
        "active_ideation",
        r"\b(?:don'?t|do not|dont|no longer) (?:want|wanna|wish) (?:to )?(?:live|be alive|exist|be here|go on|be around)\b",
    ),
    Rule(
        "active_ideation",
        r"\b(?:not sure|no longer sure) (?:i|if i) (?:want to|wanna) (?:live|be alive|be here|keep living)\b",
    ),
    Rule(
        "active_ideation",
        r"\bno (?:reason|point) (?:to|in|of) (?:living|live|going on|being alive|being here|staying alive)\b",
    ),
    Rule("active_ideation", r"\bnothing (?:left )?to live for\b"),
    Rule(
        "active_ideation",
        r"\b(?:off|hang|hanging|shoot|shooting|drown|drowning|poison|poisoning|suffocate|gas) myself\b",
    ),
    Rule("active_ideation", r"\bunaliv\w*", needs_self=True),
    Rule("active_ideation", r"\bsewer ?slid\w*"),
    Rule("active_ideation", r"\bctb\b"),
    Rule(
        "active_ideation",
        r"\bcatch(?:ing)? (?:the|that) bus\b",
        requires=r"\b(?:ready|time|gonna|going|want|wanna|plan\w*|decided|tonight|soon|finally|think\w* about|wish|bye|goodbye)\b",
        benign=_TRAVEL,
    ),
    Rule(
        "active_ideation",
        r"\bkys\b",
        requires=r"\b(?:i|im|i'?m|me|my|myself|i'?ll|ima|imma|gonna|wanna|time to)\b",
        benign=r"\b(?:you|u|ur|your|yourself|loser|idiot)\b",
    ),
    Rule(
        "active_ideation",
        r"\b(?:ways|way|methods?|how) to (?:die|kill myself|end it|end my life|do it painlessly)\b|\blethal (?:dose|doses|amount)\b|\blooking up (?:methods|ways)\b",
        needs_self=True,
    ),
    Rule(
        "passive_ideation",
        r"\b(?:don'?t|do not|can'?t) see myself (?:being )?(?:ali+ve|here|around|making it|living) (?:next|by|past|much|for|in)\b",
    ),
    Rule("kys_other", r"\bkys\b", tier=CONCERN),
    # passive ideation
    Rule(
        "passive_ideation",
        r"\bwish (?:that )?i (?:wasn'?t|weren'?t|was not|were not|didn'?t|did not) (?:\w+ )?(?:here|alive|around|born|exist|existing|anymore|any more)\b",
    ),
    Rule("passive_ideation", r"\bwish (?:that )?i (?:was|were|could be) (?:dead|gone|never born)\b"),
    Rule(
        "passive_ideation",
        r"\bwish (?:that )?i (?:could|would|'?d) (?:just )?(?:disappear|vanish|stop existing|die|not wake up|never wake up|sleep forever|fall asleep and not wake up|cease to exist)\b",
    ),
    Rule(
        "passive_ideation",
        r"\bwish (?:that )?i (?:had never been|'?d never been|was never|were never|hadn'?t been) born\b",
    ),
    Rule(
        "passive_ideation",
        r"\bbetter off (?:without me|with me gone|with me dead|if i (?:was|were|wasn'?t|weren'?t|died|disappeared|didn'?t exist|never existed|never was|was never|were never)\b)",
    ),
    Rule("passive_ideation", r"\b(?:don'?t|do not|dont|never) (?:want|wanna) (?:to )?wake up\b"),
    Rule("passive_ideation", r"\bhope (?:that )?i (?:don'?t|never|do not) wake up\b"),
    Rule(
        "passive_ideation",
        r"\b(?:sleep|asleep|close my eyes)(?: tonight| forever)? and (?:never|not) (?:wake|waking|open them|opening them) ?(?:up|again)?",
    ),
    Rule("passive_ideation", r"\btired of (?:being alive|living|existing|life itself|being here|being me)\b"),
    Rule(
        "passive_ideation",
        r"\beasier (?:for everyone )?if i (?:just )?(?:died|disappeared|was gone|were gone|wasn'?t here|weren'?t here|wasn'?t around|didn'?t exist|was dead|were dead)\b",
    ),
    Rule(
        "passive_ideation",
        r"\bno ?one would (?:care|notice|miss me) if i (?:died|was gone|disappeared|were gone|killed|wasn'?t here|was dead)\b",
    ),
    # "nobody will miss me": with "when i'm gone" it is the rule above in other words; alone it is a warning
    # sign for the moderators (concern) unless the sentence is about an ordinary absence (a party, a shift).
    Rule(
        "passive_ideation",
        r"\b(?:no ?one|nobody) (?:will|would|'?ll|is going to|is gonna) (?:even )?miss me (?:when|if|once|after) (?:i'?m|i am|i was|i'?ve) (?:gone|dead|not here|left)\b",
    ),
    Rule(
        "passive_ideation",
        r"\b(?:no ?one|nobody) (?:will|would|'?ll|is going to|is gonna) (?:even )?(?:miss me|notice i'?m gone)\b",
        tier=CONCERN,
        benign=_EVENTS + r"|\b(?:work|shift|class|office|if i (?:skip|leave|stay|don'?t go|miss))\b",
    ),
    Rule("passive_ideation", r"\bwhat'?s the point (?:of|in) (?:living|being alive|going on|staying alive)\b"),
    Rule(
        "passive_ideation",
        r"\b(?:want|wanna) to (?:disappear|vanish|stop existing|not exist) (?:forever|for good|permanently)\b",
    ),
    Rule("passive_ideation", r"\bsleep forever\b", needs_self=True),
    Rule("passive_ideation", r"\bjoin (?:him|her|them|my \w+) (?:soon|in heaven|up there|on the other side)\b"),
    Rule("passive_ideation", r"\bcan'?t (?:wait to|want to) (?:die|be dead|not exist)\b"),
    # plans and means
    Rule(
        "plan",
        r"\b(?:wrote|written|writing|finished|left|drafted) my (?:suicide |goodbye |last |final )?(?:note|letter)s?\b",
    ),
    Rule("plan", r"\b(?:suicide|goodbye) (?:note|letter)s?\b", needs_self=True),
    Rule("plan", r"\bstockpil\w*", needs_self=True),
    Rule(
        "plan",
        rf"\b(?:saving|saved|hoarding|hoarded|collecting|collected|stashing|stashed|storing|hiding) (?:up )?(?:my |all my |enough |some |up my )?{_PILLS}\b",
    ),
    Rule(
        "plan",
        rf"\b(?:took|taken|swallowed|take|taking|downed|down|swallow) (?:all|a bunch of|a handful of|a whole|the whole|too many|every one of|all of|loads of|\d{{2,}}|twenty|thirty|forty|fifty|a hundred|the rest of) (?:of )?(?:my |the |these |those |his |her )?(?:{_PILLS}|bottle)\b",
    ),
    # the means in hand, now: "I have the pills in my hand", "I've got the tablets ready"
    Rule(
        "plan",
        rf"\b(?:have|got|holding|hold|counted out|lined up) (?:the |my |all the |all my |all |some |a handful of )?{_PILLS} (?:in my hands?|in front of me|ready|lined up|counted out|next to me|beside me|by the bed)\b",
        needs_self=True,
        benign=_DOSING + r"|\b(?:trip|holiday|travel\w*|flight|week|organi[sz]er|dispenser|pharmacy)\b",
    ),
    # taking them now, with the means named in the same sentence: "... the pills ... I'm taking them now"
    Rule(
        "plan",
        r"\b(?:taking|swallowing|took|swallowed|downing|downed|take) (?:them|it) (?:all|now|right now|tonight)\b",
        needs_self=True,
        requires=_PILLS,
        benign=_DOSING,
    ),
    Rule("plan", rf"\benough {_PILLS} (?:to|for)\b"),
    # means-seeking questions: how much of a drug, how long, how high
    Rule(
        "plan",
        rf"\bhow (?:many|much) (?:\w+ ){{0,3}}?{_PILLS}\b",
        needs_self=True,
        requires=_DEATH_OUTCOME + r"|\b(?:would|does|will) it take\b|\bit would take\b",
        benign=_DOSING,
    ),
    Rule(
        "plan",
        r"\b(?:does|would|will) it take (?:for (?:me|someone|a person|you) )?to (?:die|bleed out|stop breathing)\b",
        needs_self=True,
    ),
    Rule("plan", r"\bbleed(?:ing)? (?:out|to death)\b", needs_self=True, benign=_FICTION),
    Rule(
        "plan",
        r"\bhow (?:high|tall|far up) (?:does|do|would|should|must|is) (?:a |the |you |it )?(?:\w+ )?(?:bridge|building|roof|fall|drop|jump|floor|storey|story|balcony|cliff)\b",
        needs_self=True,
        requires=_DEATH_OUTCOME + r"|\b(?:need to be|have to be|high enough|enough|sure|guarantee\w*)\b",
        benign=r"\b(?:ship|boat|truck|lorry|bus|clearance|code|regulation|permit|architect\w*|planning|kite|drone)\b",
    ),
    Rule("plan", r"\boverdos\w*", needs_self=True, benign=r"\b(?:caffeine|coffee|sugar|chocolate|netflix|tv)\b"),
    Rule("plan", r"\bnoose\b", needs_self=True),
    Rule(
        "plan",
        r"\b(?:rope|cord|belt)\b",
        needs_self=True,
        requires=r"\b(?:hang\w*|neck|tree|beam|ceiling|strong enough|end it|it all|noose|attic|garage|rafter|tonight|bought|tied|tying)\b",
        benign=r"\b(?:jump rope|skipping|climbing|camping|boat|sailing|tent|clothesline|the ropes|tow)\b",
    ),
    Rule(
        "plan",
        r"\b(?:jump|jumping|jumped|throw myself|leap|step|stepping|walk) (?:off|from|in front of|into) (?:a |the |this |that |my )?(?:\w+ )?(?:bridge|building|roof|cliff|balcony|overpass|train|bus|truck|traffic|tower|ledge|window|parking garage|car park|tracks|river)\b",
        needs_self=True,
        benign=r"\b(?:pool|lake|water|sea|fun|bungee|parachute|skydiv\w*|dare|trampoline)\b",
    ),
    Rule(
        "plan",
        r"\bbridge\b",
        needs_self=True,
        requires=r"\b(?:tonight|jump\w*|edge|railing|standing|stood|drive to|walk to|looking down|high enough|over the side|fall|end it|goodbye|bye)\b",
    ),
    Rule(
        "plan",
        r"\b(?:standing|sitting|stood|sat) (?:on|at) (?:the )?(?:edge|ledge|railing|rooftop|roof)\b",
        needs_self=True,
    ),
    Rule(
        "plan",
        r"\b(?:picked|set|chose|chosen|decided on|have|got) (?:a|the|my) date\b",
        needs_self=True,
        requires=r"\b(?:die|dying|it|end|gone|go|last|leave|over|done|final)\b",
        benign=_EVENTS,
    ),
    Rule(
        "plan",
        r"\b(?:tonight|tomorrow|friday|saturday|sunday|monday|tuesday|wednesday|thursday)(?: is| will be)? (?:the|my) (?:night|day)\b",
        requires=r"\b(?:end|die|dying|do it|gone|last|goodbye|bye|ready|over|pills|rope)\b",
        benign=_EVENTS,
    ),
    Rule("plan", r"\b(?:my )?last (?:day|night|week) (?:on earth|alive|here|of my life|living)\b"),
    Rule("plan", r"\bthis is my last (?:day|night|week)\b", benign=_LAST_OF_SOMETHING),
    Rule(
        "plan",
        r"\bgun\b",
        needs_self=True,
        requires=r"\b(?:head|mouth|myself|loaded|end|temple|trigger|bullet|use it)\b",
    ),
    Rule("plan", r"\b(?:slit|slice|slash|cut|open|opening) (?:my |both |open my )?(?:wrists?|throat|veins)\b"),
    Rule(
        "plan",
        r"\bgiving away (?:all )?(?:of )?(?:my|all my) (?:stuff|things|belongings|cats?|dogs?|pets?|possessions|clothes|plants|games)\b",
    ),
    # goodbyes
    Rule(
        "goodbye",
        r"\bthis (?:is|will be|'?ll be) my (?:last|final) (?:post|message|msg|update|time posting|words|goodbye|entry)\b",
    ),
    Rule("goodbye", r"\bmy (?:last|final) (?:post|message|msg) (?:here|ever|on here)\b"),
    Rule(
        "goodbye", r"\b(?:last|final) time (?:you'?ll|you will|anyone will|you'?re going to) (?:ever )?hear from me\b"
    ),
    Rule(
        "goodbye",
        r"\b(?:(?:you|anyone) (?:won'?t|wont|will not|will never|'?ll never)|(?:nobody|no one)(?: will|'ll)) (?:ever )?"
        r"hear from me again\b",
        benign=_FAREWELL_OK + r"|\b(?:until|till|til|about (?:this|that|it)|on (?:this|that) (?:topic|subject))\b",
    ),
    Rule(
        "goodbye",
        r"\b(?:goodbye|good bye|bye|farewell|so long),? (?:everyone|everybody|all|guys|friends|world|forever|hearth|y'?all|all of you|for good|cruel world|for the last time)\b",
        benign=_FAREWELL_OK,
    ),
    Rule(
        "goodbye",
        r"\bthank (?:you|u) (?:all |guys |everyone )?for everything\b",
        requires=r"\b(?:bye|goodbye|farewell|last|sorry|won'?t|forgive|take care|gone|forever|end)\b",
        benign=_FAREWELL_OK,
    ),
    Rule(
        "goodbye",
        r"\b(?:by the time|when) (?:you|anyone|someone) (?:reads?|sees?|finds?) this\b",
        requires=r"\b(?:gone|dead|won'?t be|no longer|not be here|be over|be free|at peace|too late)\b",
    ),
    Rule(
        "goodbye",
        r"\bwon'?t be (?:here|around|alive) (?:tomorrow|much longer|anymore|any more|for long|by|next|after tonight)\b",
    ),
    Rule(
        "goodbye",
        r"\btake care of (?:my (?:cat|dog|kids|babies|pets?|family|mom|mum|sister|brother|plants)|each other) for me\b",
    ),
    Rule("goodbye", r"\bsee (?:you|y'?all|u) (?:all )?on the other side\b"),
    Rule(
        "goodbye",
        r"\b(?:i'?ll|i will|i'?m going to) be (?:gone|at peace|free) (?:soon|tonight|by|tomorrow|forever|for good)\b",
    ),
    Rule("goodbye", r"\bi'?m (?:so )?sorry for everything\b", tier=CONCERN),
    # self-harm
    Rule(
        "self_harm",
        r"\b(?:cut|cutting|cuts|burn|burning|burnt|burned|hurt|hurting|scratch|scratching|punch|punching|hitting|harm|harming|harmed|carve|carving|carved|starve|starving|bleed|bleeding|mutilat\w*) (?:my ?self|me)\b(?! (?:a |some |an |off|out|short|slack|loose|up about|free|on (?:paper|the edge)))",
        benign=_ACCIDENT,
    ),
    Rule("self_harm", r"\bself[- ]?harm\w*|\bself[- ]?injur\w*|\bself[- ]?mutilat\w*", needs_self=True),
    Rule(
        "self_harm",
        r"\b(?:relapsed?|relapsing|urges?|urge to) (?:on |with |to )?(?:sh|self[- ]?harm|cutting|cut|burn)\b",
    ),
    Rule("self_harm", r"\bsh (?:again|urges?|relapse|scars?|wounds?)\b"),
    Rule("self_harm", r"\bcutting (?:again|my (?:arms?|wrists?|thighs?|legs?|skin|stomach|hips?))\b"),
    Rule("self_harm", r"\b(?:fresh|new|deep|deeper) (?:cuts|scars|wounds|burns)\b", needs_self=True, benign=_ACCIDENT),
    Rule(
        "self_harm",
        r"\b(?:razor|blade|blades|lighter|knife|scissors|glass) (?:to|on|against|across|into) my (?:skin|arms?|wrists?|thighs?|legs?|stomach)\b",
    ),
    Rule(
        "self_harm",
        r"\bmy (?:razor|blades?|sharpener)\b",
        needs_self=True,
        requires=r"\b(?:skin|arm|wrist|thigh|cut|bleed|again|urge|hide|hidden)\w*",
    ),
    # emoji
    Rule(
        "emoji_means",
        "(?:\U0001f52a|\U0001f5e1|\U0001fa92|\U0001fa78)",
        needs_self=True,
        requires=r"\b(?:me|myself|my (?:arms?|wrists?|skin|thighs?|legs?)|i|i'?m|im|tonight)\b",
        benign=r"\b(?:cook\w*|recipe|dinner|chop\w*|onions?|kitchen)\b",
    ),
    Rule("emoji_means", "\U0001faa2", needs_self=True),
    Rule(
        "emoji_means",
        "\U0001f48a",
        needs_self=True,
        requires="\U0001f48a.*\U0001f48a|\\b(?:all|enough|stockpil\\w*|tonight|end|overdose|od|whole bottle|goodbye|bye|sleep forever|handful|forever|it all)\\b",
    ),
    Rule(
        "emoji_death",
        "(?:\u26b0|\U0001faa6)",
        needs_self=True,
        benign=r"\b(?:exam|workout|gym|laugh\w*|lol|lmao|meeting|class|shift|game|match)\b",
    ),
    # Other languages: a small net of the commonest first-person ideation phrases (the model is English-only).
    # Accents are stripped by normalise(), so "não" reads "nao" and "möchte" reads "mochte".  The negated forms
    # ("no quiero morir", "je ne veux pas mourir") do not match: they say the opposite.
    Rule(
        "ideation_es",
        r"\b(?<!\bno )(?:quiero|me quiero|voy a|me voy a|deseo|quisiera) (?:morir(?:me)?|matarme|suicidarme|matar|suicidar|quitarme la vida)\b",
    ),
    Rule(
        "ideation_es",
        r"\bno quiero (?:vivir|seguir viviendo|seguir)(?: mas)?\b|\bquiero estar muert[oa]\b|\b(?:pienso|pensando) en (?:suicidarme|matarme|quitarme la vida)\b",
    ),
    Rule(
        "ideation_fr",
        r"\b(?:je veux|je voudrais|j'ai envie de|je vais|envie de) (?:mourir|me suicider|me suicide|me tuer|en finir)\b|\bje ne veux plus vivre\b|\bje pense a me suicid(?:er|e)\b",
    ),
    Rule(
        "ideation_de",
        r"\bich (?:will|mochte|moechte|werde|wurde gern|wuerde gern) (?:sterben|mich umbringen|mich toten|mich toeten|nicht mehr leben|tot sein)\b|\bich bring(?:e)? mich um\b|\bich will mich (?:umbringen|toten|toeten)\b",
    ),
    Rule(
        "ideation_pt",
        r"\b(?<!\bnao )(?:quero|eu quero|vou|eu vou) (?:morrer|me matar|me suicidar|tirar minha (?:propria )?vida)\b|\bnao quero mais viver\b|\bquero estar mort[oa]\b",
    ),
    Rule(
        "ideation_it",
        r"\b(?<!\bnon )(?:voglio|vorrei|mi voglio|sto per) (?:morire|uccidermi|suicidarmi|ammazzarmi|uccidere|suicidare|ammazzare|farla finita)\b|\bnon voglio piu vivere\b|\bmi (?:uccido|ammazzo)\b",
    ),
    Rule(
        "mention_other_language",
        r"\b(?:suicidio|suicidarse|selbstmord\w*|suizid\w*|se suicider|suicidarsi)\b",
        tier=CONCERN,
        weight=0.4,
    ),
    # mentions: never crisis alone, but a moderator should see them
    Rule("mention", r"\bsuicid\w*", tier=CONCERN, weight=0.4),
    Rule(
        "third_party",
        rf"\bk+i+l+(?:l|ing|ed|s)? (?:him|her|them|your)sel(?:f|ves)\b|\bmy (?:{_RELATIONS}) (?:is|has been|was|seems|sounds) suicidal\b",
        tier=CONCERN,
        weight=0.5,
    ),
    Rule(
        "hopelessness",
        r"\b(?:can'?t|cannot|cant) (?:go on|keep going|do this|take (?:it|this)|cope|keep doing this) any ?(?:more|longer)\b",
        tier=CONCERN,
        weight=0.5,
    ),
    Rule(
        "hopelessness",
        r"\b(?:i'?m|i am|im|feel like|feel) (?:such )?(?:a burden|worthless|hopeless|trapped|empty inside)\b|\bno way out\b|\bno future for me\b",
        tier=CONCERN,
        weight=0.45,
    ),
)

# One pass over the text: every rule is a named alternative of one regex, tried only where it can start.
#
# Trying ~100 alternatives at every word boundary cost ~170 us per chat message.  Instead, each rule's
# possible first PREFIX_CHARS characters are read from its pattern (patterns.prefixes: our own small reader,
# public APIs only), and
#   * _STARTER, one compiled regex, finds the positions where some rule can begin (in C, not a Python
#     loop over every word); a message with no such position provably has no match, and
#   * at each such position only the rules that can begin with those characters are tried.
# A rule the reader cannot analyse is tried at every word start, as before: slower, never a miss.
# scan(..., fast=False) runs one plain alternation of every rule instead; tests prove both agree.


def _combined(rules: tuple[Rule, ...], idx: set[int] | list[int]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<r{i}>{rules[i].pattern})" for i in sorted(idx)))


_WORD_CHAR = re.compile(r"\w")


# How many leading characters key the dispatch table.  Three cut the positions tried per chat message
# from 8.7 to 3.9 (two characters: "be", "my", "no" begin half of all words); four only grows the table.
PREFIX_CHARS = 3


def _dispatch(rules: tuple[Rule, ...]) -> tuple[dict[str, re.Pattern[str]], re.Pattern[str] | None, re.Pattern[str]]:
    """Per-prefix regexes, a default for rules that could not be analysed, and the starter regex."""
    by_prefix: dict[str, set[int]] = {}
    always: set[int] = set()
    for i, rule in enumerate(rules):
        firsts = prefixes(rule.pattern, PREFIX_CHARS)
        if firsts is None:
            always.add(i)
            continue
        for prefix in firsts:
            by_prefix.setdefault(prefix, set()).add(i)
    # A shorter prefix (a match may end that soon) also applies under every longer key it begins.
    table: dict[str, re.Pattern[str]] = {}
    for key, idx in by_prefix.items():
        shorter = (by_prefix.get(key[:n], set()) for n in range(1, len(key)))
        table[key] = _combined(rules, idx.union(*shorter) | always)
    default = _combined(rules, always) if always else None
    if always:
        starter = re.compile(r"\b\w|[^\w\s]")
    else:
        word = sorted(k for k in by_prefix if _WORD_CHAR.match(k[0]))
        other = sorted(k for k in by_prefix if not _WORD_CHAR.match(k[0]) and not k[0].isspace())
        alts = []
        if word:
            alts.append(r"\b(?=" + _trie_pattern(word) + ")")
        if other:
            alts.append("(?=" + _trie_pattern(other) + ")")
        starter = re.compile("|".join(alts))
    return table, default, starter


_Trie = dict[str, "_Trie"]


def _trie_pattern(keys: list[str]) -> str:
    """A regex matching any key, factored by shared prefixes.

    The re engine tries a flat alternation branch by branch at every word start; the factored form
    ("b(?:e|l|r)" rather than "be|bl|br") decides after a character or two and made the starter 3x faster.
    """
    trie: _Trie = {}
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_branch(trie)


def _trie_branch(node: _Trie) -> str:
    if "" in node:  # a key ends here: for a lookahead, this shorter key already suffices
        return ""
    alts = [re.escape(ch) + _trie_branch(child) for ch, child in sorted(node.items())]
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


def _rules_at(text: str, pos: int) -> re.Pattern[str] | None:
    """The regex of the rules that can begin at pos: the longest known key wins."""
    table = _DISPATCH
    for n in range(PREFIX_CHARS, 0, -1):
        rx = table.get(text[pos : pos + n])
        if rx is not None:
            return rx
    return _DISPATCH_DEFAULT


_DISPATCH, _DISPATCH_DEFAULT, _STARTER = _dispatch(RULES)
_EVERYTHING = _combined(RULES, list(range(len(RULES))))


def _find_all(text: str) -> Iterator[re.Match[str]]:
    """Leftmost, non-overlapping rule matches (what one big alternation would give)."""
    last_end = 0
    for cand in _STARTER.finditer(text):
        pos = cand.start()
        if pos < last_end:
            continue
        rx = _rules_at(text, pos)
        if rx is None:
            continue
        m = rx.match(text, pos)
        if m is not None and m.end() > pos:
            last_end = m.end()
            yield m


def _find_all_plain(text: str) -> Iterator[re.Match[str]]:
    """The reference: one alternation of every rule, tried at every position."""
    return (m for m in _EVERYTHING.finditer(text) if m.end() > m.start())


_EACH = [re.compile(r.pattern) for r in RULES]
_REQUIRES = [re.compile(r.requires) if r.requires else None for r in RULES]
_BENIGN = [re.compile(r.benign) if r.benign else None for r in RULES]

_SENTENCE_END = re.compile(r"[.!?\n]+")
_CLAUSE_END = re.compile(r"[.!?\n;,:]+|\s(?:but|though|although|and now|now|yet|however|whereas)\s|\s-\s")

_NEGATION_BEFORE = re.compile(
    r"\b(?:not|never|no longer|don'?t|do not|didn'?t|did not|won'?t|will not|wouldn'?t|would not|isn'?t|aren'?t|"
    r"wasn'?t|ain'?t|nor|couldn'?t|could never|doesn'?t|dont|wont|didnt)"
    r"(?: (?:ever|actually|really|even|going to|gonna|want to|wanna|plan(?:ning)? to|try(?:ing)? to|intend(?:ing)? to|"
    r"about to|be|feel(?:ing)?|feel like|seriously|so|that|have|had|to|i|i'?m|am|was|trying|planning|going|thinking about|think about))*\s*$"
)
_PAST = re.compile(
    r"\b(?:\d+|a|one|a few|few|two|three|four|five|six|seven|eight|nine|ten|many|several|couple(?: of)?) (?:years?|months?|yrs?|decades?) ago\b"
    r"|\bwhen i was (?:\d+|a teen\w*|younger|a kid|little|in (?:high school|college|uni|school))"
    r"|\bused to\b|\bback (?:then|in \d{4}|in (?:high school|college|uni|school|the day))|\bin the past\b|\bonce,? years\b"
    r"|\b(?:years?|months?|weeks?|days?) (?:clean|free|sober|since)\b|\bsince i (?:last|stopped)\b|\bsurviv(?:ed|or|ors)\b|\brecover(?:ed|y|ing)\b|\blast year\b"
    r"|\bas a (?:teen\w*|kid|child)\b|\bin (?:high school|college|my twenties|my teens)\b|\bi was (?:\d+|a teen\w*) (?:when|and)\b|\bin 20\d\d\b"
)
_PRESENT_RISK = re.compile(r"\b(?:again|lately|right now|rn|tonight|these days|this week|still|anymore|back)\b")
_THIRD_PERSON = re.compile(
    rf"\b(?:he|she|they|he'?s|she'?s|they'?re|his|her|their|someone|somebody|people|a (?:{_RELATIONS}|member|user|person|girl|guy|kid|woman|man|poster)|"
    rf"my (?:{_RELATIONS})|character|celebrity|singer|actor|actress|author|rapper|streamer|youtuber)\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'?m|im|i'?ve|i'?ll|i'?d|me|myself|my)\b")
_SUPPORT = re.compile(
    rf"\bhow (?:do|can|should|could) i (?:help|support|talk to|respond|reach out|be there)|\bwhat (?:do|should|can) i (?:say|do|tell)\b"
    rf"|\bworried about (?:my|a|our) |\bsupport(?:ing)? (?:him|her|them|a friend|someone|my (?:{_RELATIONS}))\b|\bhelp (?:him|her|them|my (?:{_RELATIONS}))\b"
    rf"|\bmy (?:{_RELATIONS}) (?:said|told me|texted|posted|keeps saying|says|wrote)\b|\bhow to (?:help|support) \w+"
)
_RESEARCH = re.compile(
    r"\b(?:study|studies|research|researchers|article|paper|statistics|stats|rates?|data|news|reported|report|documentary|podcast|"
    r"lecture|essay|thesis|course|awareness|prevention|journalist|headline|survey|novel|film|movie|episode|song|lyrics|"
    r"character|training|workshop|campaign|hotline|policy|percent|history|module|charity|guidelines)\b|%"
)
_HYPERBOLE = re.compile(
    r"\b(?:lol|lmao|lmfao|rofl|haha\w*|hehe\w*|jk|just kidding|kidding|joking|of (?:embarrassment|laughter|boredom|cringe|shame)|"
    r"laughing|cringe|if i (?:have|need|had) to (?:\w+ ){0,6}(?:one more|another|again)|one more (?:meeting|email|zoom|spreadsheet))\b|😂|🤣|💀|🙃"
)


@dataclass(frozen=True, slots=True)
class Match:
    """One lexicon hit; `scope` is why it was lowered, if it was."""

    label: str
    tier: str
    start: int  # offsets into the normalised text
    end: int
    weight: float
    scope: str | None = None


def _bounds(pattern: re.Pattern[str], text: str, start: int, end: int) -> tuple[int, int]:
    """Boundaries of the sentence/clause holding [start, end)."""
    left = 0
    for m in pattern.finditer(text, 0, start):
        left = m.end()
    right_m = pattern.search(text, end)
    right = right_m.start() if right_m else len(text)
    return left, right


def _scope_reason(rule: Rule, idx: int, text: str, start: int, end: int) -> str | None:
    """Why a crisis-tier hit should read as something less, or None."""
    c_left, c_right = _bounds(_CLAUSE_END, text, start, end)
    s_left, s_right = _bounds(_SENTENCE_END, text, start, end)
    clause = text[c_left:c_right]
    sentence = text[s_left:s_right]
    before = text[c_left:start]
    benign = _BENIGN[idx]
    if benign is not None and benign.search(sentence):
        return "ordinary_reading"
    if rule.needs_self and _THIRD_PERSON.search(sentence) and not _SELF.search(sentence):
        return "other_person"
    if _NEGATION_BEFORE.search(before):
        return "negated"
    if _PAST.search(clause) and not _PRESENT_RISK.search(clause):
        return "past_or_recovery"
    if _THIRD_PERSON.search(before) and not _FIRST_PERSON.search(before[_last_third(before) :] + text[start:end]):
        return "third_person"
    if _HYPERBOLE.search(sentence):
        return "hyperbole"
    if _SUPPORT.search(text):
        return "support_question"
    if _RESEARCH.search(clause):
        return "research_or_news"
    return None


def _last_third(before: str) -> int:
    last = 0
    for m in _THIRD_PERSON.finditer(before):
        last = m.end()
    return last


def _requirement_met(idx: int, text: str, start: int, end: int) -> bool:
    req = _REQUIRES[idx]
    if req is None:
        return True
    s_left, s_right = _bounds(_SENTENCE_END, text, start, end)
    return req.search(text, s_left, s_right) is not None


def _later_rule_at(idx: int, text: str, start: int) -> tuple[int, int]:
    """The combined regex stops at the first alternative; try the later ones."""
    for j in range(idx + 1, len(RULES)):
        m = _EACH[j].match(text, start)
        if m and m.end() > start and _requirement_met(j, text, start, m.end()):
            return j, m.end()
    return -1, start


def scan(norm: Normalised, fast: bool = True) -> list[Match]:
    """All lexicon hits in normalised text, each with its (possibly lowered) tier.

    fast=False uses the plain one-alternation path, kept so tests can prove both agree.
    """
    text = norm.text
    found: list[Match] = []
    for m in _find_all(text) if fast else _find_all_plain(text):
        idx = int(m.lastgroup[1:]) if m.lastgroup else -1
        start, end = m.span()
        if idx >= 0 and not _requirement_met(idx, text, start, end):
            idx, end = _later_rule_at(idx, text, start)
        if idx < 0:
            continue
        rule = RULES[idx]
        if rule.tier != CRISIS:
            found.append(Match(rule.label, rule.tier, start, end, rule.weight))
            continue
        reason = _scope_reason(rule, idx, text, start, end)
        tier = CRISIS if reason is None else CONCERN
        found.append(Match(rule.label, tier, start, end, rule.weight, reason))
    return found


def lexicon_level(matches: list[Match]) -> str:
    if any(m.tier == CRISIS for m in matches):
        return CRISIS
    return CONCERN if matches else "none"


def lexicon_score(matches: list[Match]) -> float:
    """A rough probability of crisis from the lexicon alone (degraded mode)."""
    crisis = [m.weight for m in matches if m.tier == CRISIS]
    if crisis:
        return max(crisis)
    return 0.35 if matches else 0.0
