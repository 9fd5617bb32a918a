<?xml version='1.0' encoding="UTF-8" ?>
<wfs:FeatureCollection
   xmlns:ms="http://mapserver.gis.umn.edu/mapserver"
   xmlns:gml="http://www.opengis.net/gml/3.2"
   xmlns:wfs="http://www.opengis.net/wfs/2.0"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
   xsi:schemaLocation="http://mapserver.gis.umn.edu/mapserver http://not_existing_host/path/to/wfs_simple?SERVICE=WFS&amp;VERSION=2.0.0&amp;REQUEST=DescribeFeatureType&amp;TYPENAME=road,popplace&amp;OUTPUTFORMAT=application%2Fgml%2Bxml%3B%20version%3D3.2 http://www.opengis.net/wfs/2.0 http://schemas.opengis.net/wfs/2.0/wfs.xsd http://www.opengis.net/gml/3.2 http://schemas.opengis.net/gml/3.2.1/gml.xsd"
   timeStamp="" numberMatched="100" numberReturned="100">
  <wfs:boundedBy>
  	<gml:Envelope srsName="urn:ogc:def:crs:EPSG::3978">
  		<gml:lowerCorner>2258982.00000 -70747.91406</gml:lowerCorner>
  		<gml:upperCorner>2615354.50000 495480.93750</gml:upperCorner>
  	</gml:Envelope>
  </wfs:boundedBy>
  <wfs:member>
   <wfs:FeatureCollection timeStamp="" numberMatched="72" numberReturned="72">
      <wfs:boundedBy>
      	<gml:Envelope srsName="urn:ogc:def:crs:EPSG::3978">
      		<gml:lowerCorner>2258982.00000 -70747.91406</gml:lowerCorner>
      		<gml:upperCorner>2615354.50000 495480.93750</gml:upperCorner>
      	</gml:Envelope>
      </wfs:boundedBy>
    <wfs:member>
      <ms:road gml:id="road.21">
        <gml:boundedBy>
        	<gml:Envelope srsName="urn:ogc:def:crs:EPSG::3978">
        		<gml:lowerCorner>2577257.00000 402717.03125</gml:lowerCorner>
        		<gml:upperCorner>2580978.50000 430271.18750</gml:upperCorner>
        	</gml:Envelope>
        </gml:boundedBy>
        <ms:msGeometry>
          <gml:LineString gml:id="road.21.1" srsName="urn:ogc:def:crs:EPSG::3978">
            <gml:posList srsDimension="2">2577257.00000 430271.18750 2577292.00000 420127.65625 2577297.50000 418604.78125 2577491.75000 417462.90625 2578069.00000 415941.46875 2578836.50000 414230.25000 2579413.25000 412899.18750 2580247.50000 412070.84375 2580693.50000 411149.46875 2580978.50000 408984.37500 2580750.50000 407559.96875 2580066.75000 405736.68750 2579326.00000 403970.43750 2578927.50000 402717.03125 </gml:posList>
          </gml:LineString>
        </ms:msGeometry>
      </ms:road>
    </wfs:member>
   </wfs:FeatureCollection>
  </wfs:member>
  <wfs:member>
   <wfs:FeatureCollection timeStamp="" numberMatched="28" numberReturned="28">
      <wfs:boundedBy>
      	<gml:Envelope srsName="urn:ogc:def:crs:EPSG::3978">
      		<gml:lowerCorner>2279399.00000 -55344.50390</gml:lowerCorner>
      		<gml:upperCorner>2600377.00000 461586.81250</gml:upperCorner>
      	</gml:Envelope>
      </wfs:boundedBy>
    <wfs:member>
      <ms:popplace gml:id="popplace.BACMK">
        <gml:boundedBy>
        	<gml:Envelope srsName="urn:ogc:def:crs:EPSG::3978">
        		<gml:lowerCorner>2281604.25000 340848.93750</gml:lowerCorner>
        		<gml:upperCorner>2281604.25000 340848.93750</gml:upperCorner>
        	</gml:Envelope>
        </gml:boundedBy>
        <ms:msGeometry>
          <gml:Point gml:id="popplace.BACMK.1" srsName="urn:ogc:def:crs:EPSG::3978">
            <gml:pos>2281604.25000 340848.93750</gml:pos>
          </gml:Point>
        </ms:msGeometry>
      </ms:popplace>
    </wfs:member>
   </wfs:FeatureCollection>
  </wfs:member>
</wfs:FeatureCollection>

