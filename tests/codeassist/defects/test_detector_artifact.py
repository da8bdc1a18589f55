"""The defect detector artifact: skops with an explicit type allow-list, as the fraud bundle."""

import shutil
from collections import Counter

import pytest
import skops.io as sio

from codeassist.defects.detector import DETECTOR_DIR, load_detector
from codeassist.defects.errors import DetectorArtifactError


def test_untrusted_type_in_the_detector_artifact_is_refused(tmp_path):
    artifact = tmp_path / "detector"
    shutil.copytree(DETECTOR_DIR, artifact)
    # A planted artifact of the same shape with a type outside the allow-list: never loaded.
    sio.dump({"bug": Counter(a=1), "kind": Counter(b=2)}, artifact / "detector.skops")
    with pytest.raises(DetectorArtifactError, match=r"untrusted types \['collections.Counter'\]"):
        load_detector(artifact)
