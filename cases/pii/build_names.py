"""Build the name gazetteer in data/ from names-dataset (Philippe Remy, Apache-2.0), which is not a dependency.

Run it by hand when the lists should change, in a throwaway environment:

    pip install names-dataset==3.3.1 Faker && python cases/pii/build_names.py

names-dataset counts the names of a leaked social-network dump. Only the most common first names and surnames
of the helpline's countries are kept, names shared by many people, never anything about a person. First names
that are also ordinary English or Italian words (Faker's word lists) go to ambiguous_names.txt: names.py takes
them for a name only next to a surname, a title or a cue, so that "Will", "May" or "Bella" alone are not people.
"""

from pathlib import Path

from faker.providers.lorem.en_US import Provider as EnglishWords
from faker.providers.lorem.it_IT import Provider as ItalianWords
from names_dataset import NameDataset

# names-dataset has no Australian list; Australian names are the British, Irish and American ones.
COUNTRIES = ("IT", "GB", "US", "IE")
FIRST_NAMES_PER_GENDER = 1000
SURNAMES_PER_COUNTRY = 3000
HEADER = (
    "# {what}, from names-dataset 3.3.1 (Philippe Remy, Apache-2.0) for {countries};\n"
    "# built by cases/pii/build_names.py.\n"
)


def usable(name: str) -> bool:
    return name.isalpha() and len(name) > 1 and name == name.title()


def main() -> None:
    ordinary = {w.lower() for w in (*EnglishWords.word_list, *ItalianWords.word_list)}
    dataset = NameDataset()
    first: set[str] = set()
    last: set[str] = set()
    for country in COUNTRIES:
        genders = dataset.get_top_names(n=FIRST_NAMES_PER_GENDER, country_alpha2=country)[country]
        first.update(name for names in genders.values() for name in names if usable(name))
        surnames = dataset.get_top_names(n=SURNAMES_PER_COUNTRY, country_alpha2=country, use_first_names=False)
        last.update(name for name in surnames[country] if usable(name))
    ambiguous = {name for name in first | last if name.lower() in ordinary}
    data = Path(__file__).parent / "data"
    for filename, what, names in (
        ("first_names.txt", f"The {FIRST_NAMES_PER_GENDER} most common first names per gender", first),
        ("surnames.txt", f"The {SURNAMES_PER_COUNTRY} most common surnames", last),
        ("ambiguous_names.txt", "Those names that are also ordinary English or Italian words", ambiguous),
    ):
        header = HEADER.format(what=what, countries=", ".join(COUNTRIES))
        (data / filename).write_text(header + "\n".join(sorted(names)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
