"""Request documents for the simulated endpoints: the format families' own valid samples when they exist
(samples/<family>/*.xml), otherwise small documents in the families' namespaces."""
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]

FALLBACK = {
    "vnaccs": '<?xml version="1.0" encoding="UTF-8"?>\n<IDA xmlns="urn:edihub:vnaccs:1"><BusinessCode>IDA</BusinessCode>'
              '<CMD>Máy tính xách tay</CMD></IDA>\n',
    "prc": '<?xml version="1.0" encoding="UTF-8"?>\n<DecMessage xmlns="http://www.chinaport.gov.cn/dec"><DecHead>'
           '<IEFlag>E</IEFlag><CustomMaster>2201</CustomMaster><SeqNo>220120260000012345</SeqNo></DecHead>'
           '<DecLists><DecList><GNo>1</GNo><GName>笔记本电脑</GName></DecList></DecLists></DecMessage>\n',
    "sofia": '<?xml version="1.0" encoding="UTF-8"?>\n<siv:SivecaExportRegistration xmlns:siv="urn:hub:py:siveca:1">'
             '<siv:Header><siv:MessageId>REG-0001</siv:MessageId></siv:Header>'
             '<siv:ExporterId scheme="CN_USCC">91310000MA1FL1234X</siv:ExporterId>'
             '<siv:ImporterId scheme="PY_RUC">80012345-6</siv:ImporterId><siv:CountryOfExport>CN</siv:CountryOfExport>'
             '<siv:Containers><siv:Container><siv:ContainerNo>MSCU1234565</siv:ContainerNo></siv:Container>'
             '<siv:Container><siv:ContainerNo>CSQU3054383</siv:ContainerNo></siv:Container></siv:Containers>'
             '</siv:SivecaExportRegistration>\n',
    "iran": '<?xml version="1.0" encoding="UTF-8"?>\n<ForeignTradeFile xmlns="urn:hub:ir:cts:order-registration:1">'
            '<MessageId>IR-0001</MessageId><Seller>شرکت نمونه</Seller></ForeignTradeFile>\n',
}

# which sample roots are requests an authority receives
REQUEST_ROOTS = {
    "vnaccs": ("vnaccs", ("IDA", "EDA")),
    "prc": ("prc", ("DecMessage",)),
    "sofia": ("siveca", ("SivecaExportRegistration",)),
    "iran": ("iran", ("ForeignTradeFile",)),
}


def _local(path: Path) -> str:
    try:
        return etree.QName(etree.parse(str(path)).getroot()).localname
    except (etree.XMLSyntaxError, OSError):
        return ""


def payload(authority: str) -> bytes:
    family, roots = REQUEST_ROOTS[authority]
    for p in sorted((ROOT / "samples" / family).glob("*.xml")):
        if _local(p) in roots:
            return p.read_bytes()
    return FALLBACK[authority].encode()
